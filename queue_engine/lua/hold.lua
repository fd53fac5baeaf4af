-- The gate's one call: an admission's session and owner, the caller's login session, and (when
-- asked) the binding of a live, unbound admission to that login's account, all atomically, so
-- that of accounts racing for one admission exactly one wins and an account holds one live
-- admission at a time, at most `turns_per_account` per room epoch.
-- KEYS: room hash, sessions zset, owner key (this admission's account), turns hash (the
--       admission each account holds), turn counts hash (admissions bound per account this
--       epoch), then optionally the login session key (its value is the account). On a cluster
--       the login lives in another slot: the caller reads it first and passes the account.
-- ARGV[1] the admission's token id, ARGV[2] '1' to bind, ARGV[3] the account when no login key
--       is given ('' for none)
-- Returns {expires_ms, owner, account, verdict, until_ms}: the session's end (0: none), the
-- owner key's value after this call ('' for none; it may carry the finished mark), the account
-- ('' for none), and the bind's verdict: '' (not asked, or nothing to bind: no account, not
-- live, or bound already), 'bound' (now), 'turn_held' (the account holds another live
-- admission, until until_ms) or 'turn_limit' (the account used its turns this epoch).
local token_id = ARGV[1]
local expires = tonumber(redis.call('ZSCORE', KEYS[2], token_id) or '0')
local owner = redis.call('GET', KEYS[3]) or ''
local account = ARGV[3] or ''
if KEYS[6] then account = redis.call('GET', KEYS[6]) or '' end
local function answer(verdict, held_until)
  return {fmt(expires), owner, account, verdict, fmt(held_until or 0)}
end
if ARGV[2] ~= '1' or account == '' or owner ~= '' then return answer('') end
local now = now_ms()
if expires <= now then return answer('') end
local held = redis.call('HGET', KEYS[4], account)
if held and held ~= token_id then
  local held_until = tonumber(redis.call('ZSCORE', KEYS[2], held) or '0')
  if held_until > now then return answer('turn_held', held_until) end
end
local cap = tonumber(redis.call('HGET', KEYS[1], 'turns_per_account') or '0') or 0
if cap > 0 then
  if tonumber(redis.call('HGET', KEYS[5], account) or '0') >= cap then
    return answer('turn_limit')
  end
  redis.call('HINCRBY', KEYS[5], account, 1)
end
-- The owner outlives the session a little (a released session's owner still refuses copies);
-- its name carries the epoch, so a reset's positions, which start again at 1, never meet it.
-- The turns hash has one field per account holding a turn; `finish` removes it, a reset empties
-- it, and a field left by a released or expired session is overwritten by the next bind.
redis.call('SET', KEYS[3], account, 'PX', expires - now + 60000)
redis.call('HSET', KEYS[4], account, token_id)
owner = account
return answer('bound')
