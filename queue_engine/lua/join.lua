-- Give a visitor the next number in the room's line.
-- KEYS: room hash, the challenge's single-use key, the client address's join budget key
--       (only the keys it touches: each key given costs Redis work on every join)
-- ARGV[1] the difficulty of the verified challenge presented, or -1 when none was;
--      [2] how long the challenge's key must outlive its use, ms;
--      [3] the highest number the calling process has seen in epoch [4] (0: none)
-- Returns {verdict, number, epoch}: verdict is 'joined', 'closed' (no number), 'unknown',
--   'proof_required' (number: the room's difficulty), 'replayed' (the challenge was used) or
--   'busy' (the address spent its budget; number: ms until it may join again).
local now = now_ms()
local room = load_fields(KEYS[1], {'state', 'epoch', 'event_starts_at', 'cohort_hi', 'arrivals',
  'pow_difficulty', 'joins_per_minute_per_client'})
if not room then return {'unknown', '0', ''} end
if room.state == 'closed' then return {'closed', '0', room.epoch} end
-- Settings are read here, not from the caller's view of them, so a change holds at once.
local difficulty = tonumber(room.pow_difficulty or '0')
local shown = tonumber(ARGV[1] or '-1')
if difficulty > 0 and shown < difficulty then
  return {'proof_required', fmt(difficulty), room.epoch}
end
-- The address's budget is a GCRA bucket: `budget` joins at once, then one every 60/budget s.
local budget = tonumber(room.joins_per_minute_per_client or '0')
local budget_at
if budget > 0 then
  local interval = 60000 / budget
  local tat = math.max(tonumber(redis.call('GET', KEYS[3]) or '0'), now)
  budget_at = tat + interval
  local allowed_at = budget_at - budget * interval
  if allowed_at > now then return {'busy', fmt(math.ceil(allowed_at - now)), room.epoch} end
end
if shown >= 0 and not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[2]) then
  return {'replayed', '0', room.epoch}
end
if budget_at then redis.call('SET', KEYS[3], fmt(budget_at), 'PX', fmt(math.ceil(budget_at - now))) end
-- A join at the release instant must land behind the cohort, never inside it.
fix_cohort(KEYS[1], room, now)
local number = redis.call('HINCRBY', KEYS[1], 'arrivals', 1)
-- A Redis that lost the tail of its append-only file (a power cut under `appendfsync
-- everysec`) comes back with the counter behind numbers already handed out; two visitors would
-- share a place (and a session). The caller has seen those numbers: move past them.
local seen = tonumber(ARGV[3] or '0')
if ARGV[4] == room.epoch and number <= seen then
  number = seen + 1
  redis.call('HSET', KEYS[1], 'arrivals', fmt(number))
end
return {'joined', fmt(number), room.epoch}
