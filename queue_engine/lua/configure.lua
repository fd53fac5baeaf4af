-- Create a room or change its settings.
-- KEYS: room hash, sessions zset, offers zset, claimed bitmap, recent-claims zset
-- ARGV[1] 'create' (set only missing fields) or 'update'; ARGV[2] a seed for a new pre-queue
--         cohort, or '' to keep the current one; then field, value pairs.
-- Returns 0 if an update named a room that does not exist; else 1 after a create, and after an
-- update the fields' previous values as a flat {field, value, ...} list, ending with '#' and
-- the room's change number, (read in the same atomic
-- step, so that an audit of concurrent changes sees each one's true "before").
local mode, seed = ARGV[1], ARGV[2]
local now = now_ms()
local exists = redis.call('EXISTS', KEYS[1]) == 1
if mode == 'update' and not exists then return 0 end
local before = {}
for i = 3, #ARGV, 2 do
  if mode == 'create' then
    redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
  else
    before[#before + 1] = ARGV[i]
    before[#before + 1] = redis.call('HGET', KEYS[1], ARGV[i]) or ''
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
if not exists then redis.call('HSET', KEYS[1], 'tick_ms', fmt(now), 'ctick_ms', fmt(now)) end
-- A new release opens a new cohort: everyone who joins from now until it starts is shuffled.
if seed ~= '' then
  redis.call('HSET', KEYS[1], 'seed', seed, 'cohort_lo', redis.call('HGET', KEYS[1], 'arrivals'),
    'cohort_hi', '')
end
if mode == 'update' then
  -- Number the room's changes, so that their audit rows can be ordered as Redis applied them.
  before[#before + 1] = '#'
  before[#before + 1] = tostring(redis.call('HINCRBY', KEYS[1], 'changes', 1))
  return before
end
return 1
