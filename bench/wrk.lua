-- wrk script of the benchmark. Script arguments (after `--`):
--   GET <tickets file>  GET with an X-Antri-Ticket header, rotating through the file's lines
--   POST                a bodyless POST with no cookie, so every request is a new visitor
-- done() prints one line `BENCH {json}` that bench/wrk.py reads. "quantiles" are the latencies
-- in microseconds at the midpoints of 1,000 equal slices of the requests (0.05%, 0.15%, ...),
-- a summary that several short runs can be merged by (wrk gives no cheap raw histogram).
local method = "GET"
local tickets = {}
local index = 0
local QUANTILES = 1000

function init(args)
  method = args[1] or "GET"
  if args[2] then
    for line in io.lines(args[2]) do
      if line ~= "" then tickets[#tickets + 1] = line end
    end
  end
end

function request()
  if method == "POST" then
    return wrk.format("POST", nil, {}, "")
  end
  index = index % #tickets + 1
  return wrk.format("GET", nil, { ["X-Antri-Ticket"] = tickets[index] })
end

function done(summary, latency, requests)
  local quantiles = {}
  if summary.requests > 0 then
    for i = 1, QUANTILES do
      quantiles[i] = latency:percentile((i - 0.5) * 100 / QUANTILES)
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, ' ..
    '"quantiles": [%s]}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    table.concat(quantiles, ",")))
end
