-- wrk script: authenticated GETs spread over the benchmark users' tokens, and a machine-readable
-- summary line for bench/report.py. BENCH_TOKENS_FILE names a file of one "TOKEN [PATH]" per line:
-- with a path, that user's requests go to it (each user's own page tree: one workspace per user
-- keeps the per-workspace throttle at its production rate); without, to the path given to wrk.
local tokens, paths = {}, {}
local file = os.getenv("BENCH_TOKENS_FILE")
if file == nil or file == "" then
  error("BENCH_TOKENS_FILE is not set")
end
for line in io.lines(file) do
  local token, path = line:match("^(%S+)%s*(%S*)")
  if token then
    tokens[#tokens + 1] = "Bearer " .. token
    paths[#paths + 1] = path ~= "" and path or nil
  end
end
if #tokens == 0 then
  error("no tokens in " .. file)
end

local counter = 0
local headers = { ["Accept"] = "application/json" }

function setup(thread)
  counter = counter + 1
  thread:set("offset", counter * 7919)
end

function init(args)
  offset = tonumber(offset) or 0
  n = offset
end

function request()
  n = n + 1
  local i = (n % #tokens) + 1
  headers["Authorization"] = tokens[i]
  return wrk.format("GET", paths[i], headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_us=%d p50_us=%d p95_us=%d p99_us=%d max_us=%d "
      .. "status_errors=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
