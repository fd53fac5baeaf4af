-- Advance the room's line: refill the offer bucket and let the next visitors in, within the
-- room's rate and its cap on active sessions; measure the no-show share and compensate for it.
-- KEYS: room hash, sessions zset, offers zset (serving checkpoints: member = serving, score = ms),
--       claimed bitmap (bit = position index), recent-claims zset (score = ms)
-- ARGV[1] how many ms ahead claims may already be scheduled before the line stops being offered
-- Returns a flat {field, value, ...} list: the room hash plus now_ms, active, pending,
--         admitted_last_minute, served_last_minute, span_ms, advanced; {} if the room does not exist.
local now = now_ms()
local room = load_room(KEYS[1])
if not room then return {} end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now - 60000)
local active = redis.call('ZCARD', KEYS[2])
fix_cohort(KEYS[1], room, now)

local serving = tonumber(room.serving)
local arrivals = tonumber(room.arrivals)
local grace = tonumber(room.claim_grace_seconds) * 1000
local window = tonumber(room.noshow_window_seconds) * 1000
if redis.call('ZCARD', KEYS[3]) == 0 then redis.call('ZADD', KEYS[3], now, fmt(serving)) end

-- Offers younger than the grace may still be claimed; older unclaimed ones are no-shows.
local s_grace = serving_at(KEYS[3], now - grace)
local s_old = serving_at(KEYS[3], now - grace - window)
local pending = (serving - s_grace) - count_bits(KEYS[4], s_grace + 1, serving)
local judged = s_grace - s_old
-- Below 10 offers judged, the share is taken over 10, the missing ones counted as shows: a
-- few offers say little, and an idle window (none judged) gives the prior, 0, so that a crowd
-- that walked away does not leave the next event offered at five times the rate.
local noshows = judged - count_bits(KEYS[4], s_old + 1, s_grace)
local noshow = math.max(0, math.min(0.8, noshows / math.max(judged, 10)))

-- The offer bucket runs at rate / (1 - no-show) so that claimed admissions meet the rate.
local rate = tonumber(room.rate_per_minute) / 60000 / (1 - noshow)
-- Its cap is at least a second of offers: refreshers tick every 200 ms or so, and a cap of
-- `burst` below one tick's share would throw the rest away (burst 10 at 6,000 a minute offered
-- 50 a second). Offers are not admissions: the claim bucket holds those to `burst`.
local tokens = tonumber(room.tokens) + math.max(0, now - tonumber(room.tick_ms)) * rate
tokens = math.min(math.max(tonumber(room.burst), rate * 1000), tokens)
-- Claims beyond the claim bucket are scheduled (claim.lua); while they already fill the next
-- ARGV[1] ms, offering more would only make the newly offered wait longer.
local crate = tonumber(room.rate_per_minute) / 60000
local ctokens = tonumber(room.ctokens) + math.max(0, now - tonumber(room.ctick_ms)) * crate
local booked_ahead = -ctokens / crate > tonumber(ARGV[1])
local started = room.event_starts_at == '' or now >= tonumber(room.event_starts_at)
local advance = 0
if room.state == 'open' and started and room.inventory ~= '0' and not booked_ahead then
  local room_for = tonumber(room.max_active) - active - pending
  advance = math.max(0, math.min(math.floor(tokens), arrivals - serving, room_for))
  if advance > 0 then
    serving = serving + advance
    tokens = tokens - advance
    redis.call('ZADD', KEYS[3], now, fmt(serving))
  end
end
redis.call('HSET', KEYS[1], 'serving', fmt(serving), 'tokens', tostring(tokens),
  'tick_ms', fmt(now), 'noshow', tostring(noshow))

-- Keep checkpoints for the longest look-back, re-anchoring the base at the cut.
local cut = now - grace - math.max(window, 60000)
local s_cut = serving_at(KEYS[3], cut)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. cut)
redis.call('ZADD', KEYS[3], 'NX', cut, fmt(s_cut))

local minute_ago = now - 60000
local oldest = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
local span = now - math.max(minute_ago, tonumber(oldest[2]))
local served = serving - serving_at(KEYS[3], minute_ago)

local out = redis.call('HGETALL', KEYS[1])
local extra = {'now_ms', fmt(now), 'active', fmt(active), 'pending', fmt(pending),
  'admitted_last_minute', fmt(redis.call('ZCARD', KEYS[5])), 'served_last_minute', fmt(served),
  'span_ms', fmt(span), 'advanced', fmt(advance)}
for i = 1, #extra do out[#out + 1] = extra[i] end
return out
