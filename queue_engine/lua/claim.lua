-- Turn a visitor's offered place into an active session, at most once per place.
-- KEYS: room hash, sessions zset (member = position index, score = expiry ms), offers zset,
--       claimed bitmap, recent-claims zset
-- ARGV[1] room epoch the ticket belongs to, ARGV[2] the ticket's position index
-- Returns {verdict, expires_ms, admitted_ms}; verdict is one of 'claimed' (just now), 'admitted'
--         (claimed before and still live), 'scheduled' (claimed, and the session starts at
--         admitted_ms, when the claim bucket has a token for it), 'spent' (this place
--         was claimed and its session has ended), 'gone' (another epoch), 'waiting' (not offered
--         yet), 'full' (cap reached), 'paused', 'closed', 'sold_out'.
local epoch = ARGV[1]
local position = tonumber(ARGV[2])
local now = now_ms()
local room = load_room(KEYS[1])
if not room or room.epoch ~= epoch then return {'gone', '0', '0'} end
local session_ms = tonumber(room.session_seconds) * 1000
if redis.call('GETBIT', KEYS[4], position) == 1 then
  local expires = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[2]) or '0')
  if expires <= now then return {'spent', '0', '0'} end
  local starts = tonumber(redis.call('ZSCORE', KEYS[5], ARGV[2]) or '0')
  if starts > now then return {'scheduled', fmt(expires), fmt(starts)} end
  return {'admitted', fmt(expires), fmt(expires - session_ms)}
end
if room.state ~= 'open' then return {room.state, '0', '0'} end
if room.inventory == '0' then return {'sold_out', '0', '0'} end
if position > tonumber(room.serving) then return {'waiting', '0', '0'} end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= tonumber(room.max_active) then return {'full', '0', '0'} end

-- Offers are compensated for no-shows; this second bucket holds actual admissions to the rate.
-- A claim that finds it empty is not sent away to try again (whoever polled first after a
-- refill would then overtake visitors ahead of them, and a token nobody asked for in time would
-- be lost): it takes the next token, going into debt, and its session starts when the bucket
-- would have had that token. Sessions so start in the order their claims came, no further
-- apart than the rate allows and never more than `burst` at once.
local rate = tonumber(room.rate_per_minute) / 60000
local tokens = tonumber(room.ctokens) + math.max(0, now - tonumber(room.ctick_ms)) * rate
tokens = math.min(tonumber(room.burst), tokens)
local starts = now
if tokens < 1 then starts = now + math.ceil((1 - tokens) / rate) end
if starts > now then
  -- Scheduled sessions start in place order: a claim made after those of later places (their
  -- holders polled first) takes the earliest instant booked by one of them, each of them moves
  -- to the next instant, and the last to the new one. Booked instants are kept in place order,
  -- so the later places are the latest instants: read from the end until an earlier place.
  local later, offset, done = {}, 0, false
  repeat
    local page = redis.call('ZREVRANGEBYSCORE', KEYS[5], '+inf', '(' .. fmt(now), 'WITHSCORES',
      'LIMIT', offset, 64)
    done = #page < 128
    for i = 1, #page, 2 do
      if tonumber(page[i]) < position then done = true break end
      later[#later + 1] = {page[i], tonumber(page[i + 1])}
    end
    offset = offset + 64
  until done
  for i = 1, #later do  -- latest first
    local member, instant = later[i][1], later[i][2]
    redis.call('ZADD', KEYS[5], starts, member)
    redis.call('ZADD', KEYS[2], starts + session_ms, member)
    starts = instant
  end
end
local expires = starts + session_ms
redis.call('HSET', KEYS[1], 'ctokens', tostring(tokens - 1), 'ctick_ms', fmt(now))
redis.call('HINCRBY', KEYS[1], 'claimed_total', 1)
redis.call('ZADD', KEYS[2], expires, ARGV[2])
redis.call('SETBIT', KEYS[4], position, 1)
redis.call('ZADD', KEYS[5], starts, ARGV[2])
if starts > now then return {'scheduled', fmt(expires), fmt(starts)} end
return {'claimed', fmt(expires), fmt(now)}
