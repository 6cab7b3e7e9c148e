"""The CRM's dashboard pages: contacts, a contact's profile and timeline, segments, imports, custom
fields and scoring rules.

Reads go through crm.selectors, writes through crm.services, so a page and the API share one set of
checks. Objects are looked up within the current workspace: another workspace's ids are a 404.
"""
