-- wrk script: contact-form submissions to the public form endpoint, POST /f/<component id>/, as a
-- published page's fetch() sends them (urlencoded, Accept: application/json), each with a distinct
-- email. BENCH_FORMS_FILE names a file of one "COMPONENT_ID FORM_TOKEN" per line (bench/setup_data.py
-- mints the tokens); requests go round the forms.
--
-- Counts what was sent and what came back per status, so bench/report.py can compare the 201s with
-- the rows stored. With BENCH_FORM_IDS_DIR set, each thread also writes the submission_id of every
-- 201 it received to ids-<thread>.txt there, so every acknowledged submission can be looked up.
--
-- The workflow benchmark (bench/workflow_bench.py) finds a phase's submissions by their emails and paces
-- its load: BENCH_FORM_EMAIL_PREFIX replaces the emails' "visitor-<run>" prefix, and
-- BENCH_FORM_INTERVAL_MS, when above 0, is each connection's mean pause between requests (uniform
-- 0.5x-1.5x, so the connections drift apart instead of sending in step).
local forms = {}
local file = os.getenv("BENCH_FORMS_FILE")
if file == nil or file == "" then
  error("BENCH_FORMS_FILE is not set")
end
for line in io.lines(file) do
  local id, token = line:match("^(%S+)%s+(%S+)")
  if id then
    forms[#forms + 1] = { path = "/f/" .. id .. "/", token = token:gsub(":", "%%3A") }
  end
end
if #forms == 0 then
  error("no forms in " .. file)
end
local ids_dir = os.getenv("BENCH_FORM_IDS_DIR")
local prefix = os.getenv("BENCH_FORM_EMAIL_PREFIX")
if prefix == "" then
  prefix = nil
end
local interval = tonumber(os.getenv("BENCH_FORM_INTERVAL_MS") or "0") or 0

local headers = {
  ["Accept"] = "application/json",
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Referer"] = "https://www.tidewater.example/case-studies",
  ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) siteflow-bench",
}
local message = "Hello%2C+we+run+a+small+SaaS+and+would+like+a+trial+with+our+own+data.+"
  .. "Could+someone+call+us+next+week%3F"

-- Per thread (each wrk thread runs this file in its own Lua state); read back in done().
sent, answered, created, statuses = 0, 0, 0, {}
local threads, counter, ids = {}, 0, nil
local run = tostring(os.time())

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  thread:set("run", run)
  threads[#threads + 1] = thread
end

function init(args)
  math.randomseed(os.time() + (tid or 0))
  if ids_dir and ids_dir ~= "" then
    ids = assert(io.open(string.format("%s/ids-%d.txt", ids_dir, tid), "w"))
    ids:setvbuf("line")
  end
end

-- wrk asks every request for a delay once delay() exists: defined only when the load is paced.
if interval > 0 then
  function delay()
    return math.floor(interval * (0.5 + math.random()))
  end
end

function request()
  sent = sent + 1
  local form = forms[(sent + (tid or 0)) % #forms + 1]
  local body = "name=Bench+Visitor+" .. sent
    .. "&email=" .. (prefix or ("visitor-" .. (run or "0"))) .. "-" .. (tid or 0) .. "-" .. sent
    .. "%40bench.example.com"
    .. "&message=" .. message
    .. "&website_url="
    .. "&_ts=" .. form.token
  return wrk.format("POST", form.path, headers, body)
end

function response(status, headers, body)
  answered = answered + 1
  statuses[status] = (statuses[status] or 0) + 1
  if status == 201 then
    created = created + 1
    if ids then
      local id = body:match('"submission_id":%s*(%d+)')
      if id then
        ids:write(id, "\n")
      end
    end
  end
end

function done(summary, latency, requests)
  local total_sent, total_answered, total_created, by_status = 0, 0, 0, {}
  for _, thread in ipairs(threads) do
    total_sent = total_sent + thread:get("sent")
    total_answered = total_answered + thread:get("answered")
    total_created = total_created + thread:get("created")
    for status, n in pairs(thread:get("statuses")) do
      by_status[status] = (by_status[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(by_status) do
    parts[#parts + 1] = status .. ":" .. n
  end
  table.sort(parts)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_us=%d p50_us=%d p95_us=%d p99_us=%d max_us=%d "
      .. "status_errors=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d "
      .. "sent=%d answered=%d created=%d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout,
    total_sent, total_answered, total_created))
  io.write("BENCH_STATUSES " .. table.concat(parts, ",") .. "\n")
end
