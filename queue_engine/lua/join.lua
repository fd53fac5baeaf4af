-- Give a visitor the next number in the room's line.
-- KEYS: room hash, sessions zset, offers zset, claimed bitmap, recent-claims zset
-- ARGV: none
-- Returns {verdict, number, epoch}: verdict is 'joined', 'closed' (no number) or 'unknown'.
local now = now_ms()
local room = load_fields(KEYS[1], {'state', 'epoch', 'event_starts_at', 'cohort_hi', 'arrivals'})
if not room then return {'unknown', '0', ''} end
if room.state == 'closed' then return {'closed', '0', room.epoch} end
-- A join at the release instant must land behind the cohort, never inside it.
fix_cohort(KEYS[1], room, now)
local number = redis.call('HINCRBY', KEYS[1], 'arrivals', 1)
return {'joined', fmt(number), room.epoch}
