"""The README documents every setting a deployment can change."""

import re

from django.conf import settings


def test_every_environment_variable_read_by_settings_is_in_the_readme():
    source = (settings.BASE_DIR / "config" / "settings.py").read_text()
    readme = (settings.BASE_DIR / "README.md").read_text()
    names = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"', source))
    names |= {f"{provider}_CLIENT_{part}" for provider in ("GOOGLE", "GITHUB") for part in ("ID", "SECRET")}
    assert len(names) > 20
    missing = sorted(name for name in names if f"`{name}`" not in readme)
    assert missing == []
