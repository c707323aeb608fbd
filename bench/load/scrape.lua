-- wrk script for cmon load runs.
--   wrk ... -s scrape.lua URL                 every request GETs URL's path (keep-alive)
--   wrk ... -s scrape.lua URL -- PATHS_FILE   requests rotate over the paths in PATHS_FILE (one per line)
-- done() prints one machine-readable line:
--   RESULT requests=N seconds=S rps=R p50_ms=A p90_ms=B p99_ms=C max_ms=D errors=E non2xx=F
--   WRK_PACE_MS=N (environment)              each connection waits N ms after every answer before its next request:
--                                             a load below saturation, for latency without queueing
local reqs = nil
local i = 0

local pace = tonumber(os.getenv("WRK_PACE_MS") or "")
if pace ~= nil and pace > 0 then
  -- defined only when pacing: wrk checks whether the script has a delay()
  delay = function() return pace end
end

function init(args)
  local file = args[1]
  if file == nil then return end
  reqs = {}
  for line in io.lines(file) do
    if line ~= "" then reqs[#reqs + 1] = wrk.format("GET", line) end
  end
  -- each thread starts at a different offset so that threads do not scrape in lockstep
  i = math.random(#reqs) - 1
  -- defined only when rotating: without it wrk sends its one pre-built request, the cheapest way
  request = function()
    i = (i % #reqs) + 1
    return reqs[i]
  end
end

function done(summary, latency, requests)
  local s = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.2f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%d non2xx=%d\n",
    summary.requests, s, summary.requests / s,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.connect + e.read + e.write + e.timeout, e.status))
end
