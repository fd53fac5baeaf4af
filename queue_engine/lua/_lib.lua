-- Helpers prepended to every script (scripts.py joins them); they touch only keys passed in KEYS.

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The room hash as a Lua table, or nil when the room was never created.
local function load_room(key)
  local flat = redis.call('HGETALL', key)
  if #flat == 0 then return nil end
  local room = {}
  for i = 1, #flat, 2 do room[flat[i]] = flat[i + 1] end
  return room
end

-- Only the named fields of the room hash (cheaper than HGETALL on the join path), or nil when
-- the room was never created.
local function load_fields(key, names)
  local values = redis.call('HMGET', key, unpack(names))
  if not values[1] then return nil end
  local room = {}
  for i = 1, #names do room[names[i]] = values[i] end
  return room
end

-- Fix the pre-queue cohort the first time anyone acts at or after the event start (or at once
-- when there is no start time): every ticket numbered up to the arrivals counter at that
-- instant joined before the release.
local function fix_cohort(key, room, now)
  if room.cohort_hi == '' and (room.event_starts_at == '' or now >= tonumber(room.event_starts_at)) then
    room.cohort_hi = room.arrivals
    redis.call('HSET', key, 'cohort_hi', room.arrivals)
  end
end

-- How far the line had been let in at time t: the newest checkpoint at or before t
-- (or the oldest one, which records the value the room started from).
local function serving_at(key, t)
  local found = redis.call('ZREVRANGEBYSCORE', key, t, '-inf', 'LIMIT', 0, 1)
  if #found == 0 then found = redis.call('ZRANGE', key, 0, 0) end
  if #found == 0 then return nil end
  return tonumber(found[1])
end

-- Number of set bits at positions first..last (inclusive) of a bitmap. BITCOUNT counts whole
-- bytes on Redis 6, so the ragged ends are counted bit by bit.
local function count_bits(key, first, last)
  if last < first then return 0 end
  local first_byte = math.floor((first + 7) / 8)
  local last_byte = math.floor((last + 1) / 8) - 1
  local count = 0
  if first_byte > last_byte then
    for bit = first, last do count = count + redis.call('GETBIT', key, bit) end
    return count
  end
  count = redis.call('BITCOUNT', key, first_byte, last_byte)
  for bit = first, first_byte * 8 - 1 do count = count + redis.call('GETBIT', key, bit) end
  for bit = (last_byte + 1) * 8, last do count = count + redis.call('GETBIT', key, bit) end
  return count
end

local function fmt(n)
  return string.format('%d', n)
end
