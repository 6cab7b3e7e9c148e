-- wrk script: authenticated GETs spread over the benchmark users' tokens (one per line in the file
-- named by BENCH_TOKENS_FILE), and a machine-readable summary line for bench/report.py.
local tokens = {}
local path = os.getenv("BENCH_TOKENS_FILE")
if path == nil or path == "" then
  error("BENCH_TOKENS_FILE is not set")
end
for line in io.lines(path) do
  if line ~= "" then
    tokens[#tokens + 1] = "Bearer " .. line
  end
end
if #tokens == 0 then
  error("no tokens in " .. path)
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
  headers["Authorization"] = tokens[(n % #tokens) + 1]
  return wrk.format("GET", nil, headers)
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
