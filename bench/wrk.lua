-- wrk script of the benchmark. Script arguments (after `--`):
--   GET <tickets file>  GET with an X-Antri-Ticket header, rotating through the file's lines
--   POST                a bodyless POST with no cookie, so every request is a new visitor
--   POSTPROOF <file>    a bodyless POST with no cookie whose X-Antri-Proof header is the file's
--                       next line (each thread starts at its own share of the file: lines are
--                       single-use)
--   PAGE <content type> [cookies file]
--                       GET, with a Cookie header rotating through the file's lines if one is
--                       given; every answer must be a 200 of that content type (wrk counts
--                       statuses above 399; a redirect, say, is counted here as "unexpected")
-- done() prints one line `BENCH {json}` that bench/wrk.py reads. "quantiles" are the latencies
-- in microseconds at the midpoints of 1,000 equal slices of the requests (0.05%, 0.15%, ...),
-- a summary that several short runs can be merged by (wrk gives no cheap raw histogram).
local method = "GET"
local lines = {}
local index = 0
local expected = nil
local QUANTILES = 1000
-- The threads, kept by setup() in the main script so that done() can read their counts.
local threads = {}
-- Global, not local: done() reads it from each thread with thread:get().
unexpected = 0

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_number", #threads)
end

-- Counts what wrk does not: answers below 400 that are not a 200 of the expected type.
local function checked(status, headers, body)
  if status > 399 then return end
  local kind = headers["Content-Type"] or headers["content-type"] or ""
  if status ~= 200 or kind:sub(1, #expected) ~= expected then
    unexpected = unexpected + 1
  end
end

function init(args)
  method = args[1] or "GET"
  local file = args[2]
  if method == "PAGE" then
    expected, file = args[2], args[3]
    -- Defined only here: wrk hands responses to Lua only when a response() exists.
    response = checked
  end
  if file then
    for line in io.lines(file) do
      if line ~= "" then lines[#lines + 1] = line end
    end
  end
  if method == "POSTPROOF" then
    -- Up to 8 threads each take their own eighth of the single-use proofs.
    index = ((thread_number or 1) - 1) * math.floor(#lines / 8)
  end
end

local function next_line()
  index = index % #lines + 1
  return lines[index]
end

function request()
  if method == "POST" then
    return wrk.format("POST", nil, {}, "")
  end
  if method == "POSTPROOF" then
    return wrk.format("POST", nil, { ["X-Antri-Proof"] = next_line() }, "")
  end
  if method == "PAGE" then
    return wrk.format("GET", nil, #lines > 0 and { Cookie = next_line() } or {})
  end
  return wrk.format("GET", nil, { ["X-Antri-Ticket"] = next_line() })
end

function done(summary, latency, requests)
  local quantiles = {}
  if summary.requests > 0 then
    for i = 1, QUANTILES do
      quantiles[i] = latency:percentile((i - 0.5) * 100 / QUANTILES)
    end
  end
  local checked_badly = 0
  for _, thread in ipairs(threads) do
    checked_badly = checked_badly + (thread:get("unexpected") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, ' ..
    '"unexpected": %d, "quantiles": [%s]}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    checked_badly, table.concat(quantiles, ",")))
end
