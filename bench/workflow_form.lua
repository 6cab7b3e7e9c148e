-- wrk script for the workflow benchmark: contact-form submissions to POST /f/<component id>/ (as
-- bench/form.lua sends them), each with a distinct email under a prefix naming the run and phase, so
-- bench/workflow_bench.py can find the phase's submissions and the executions they started.
--
-- BENCH_FORMS_FILE: one "COMPONENT_ID FORM_TOKEN" per line; requests go round the forms.
-- BENCH_WF_PREFIX: the emails' local-part prefix ("wf-<run>-<phase>").
-- BENCH_WF_INTERVAL_MS: each connection's mean pause between requests (uniform 0.5x-1.5x, so the
-- connections drift apart instead of sending in step); 0 sends back to back (the saturating load).
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
local prefix = os.getenv("BENCH_WF_PREFIX") or "wf"
local interval = tonumber(os.getenv("BENCH_WF_INTERVAL_MS") or "0") or 0

local headers = {
  ["Accept"] = "application/json",
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Referer"] = "https://www.tidewater.example/contact",
  ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) siteflow-bench",
}
local message = "Hello%2C+we+would+like+a+trial+with+our+own+data."

sent, answered, created, statuses = 0, 0, 0, {}
local threads, counter = {}, 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  threads[#threads + 1] = thread
end

function init(args)
  math.randomseed(os.time() + (tid or 0))
end

function delay()
  if interval <= 0 then
    return 0
  end
  return math.floor(interval * (0.5 + math.random()))
end

function request()
  sent = sent + 1
  local form = forms[(sent + (tid or 0)) % #forms + 1]
  local body = "name=Bench+Visitor+" .. sent
    .. "&email=" .. prefix .. "-" .. (tid or 0) .. "-" .. sent .. "%40bench.example.com"
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
