-- Bind a live admission to the account that first uses it, atomically: one account per
-- admission, one live admission per account, and at most `turns_per_account` per room epoch.
-- KEYS: room hash, sessions zset, owner key (this admission's account), turn key (this
--       account's admission), turn counts hash (admissions bound per account this epoch)
-- ARGV[1] the admission's token id, ARGV[2] the account
-- Returns {verdict, expires_ms}: 'bound' (now or before, to this account), 'not_yours' (bound to
--         another account), 'turn_held' (the account holds another live admission, until
--         expires_ms), 'turn_limit' (the account used its turns this epoch), 'revoked'.
local token_id, account = ARGV[1], ARGV[2]
local now = now_ms()
local expires = tonumber(redis.call('ZSCORE', KEYS[2], token_id) or '0')
if expires <= now then return {'revoked', '0'} end
local owner = redis.call('GET', KEYS[3])
if owner then
  if owner == account then return {'bound', fmt(expires)} end
  return {'not_yours', '0'}
end
local held = redis.call('GET', KEYS[4])
if held and held ~= token_id then
  local held_until = tonumber(redis.call('ZSCORE', KEYS[2], held) or '0')
  if held_until > now then return {'turn_held', fmt(held_until)} end
end
local cap = tonumber(redis.call('HGET', KEYS[1], 'turns_per_account') or '0') or 0
if cap > 0 then
  if tonumber(redis.call('HGET', KEYS[5], account) or '0') >= cap then
    return {'turn_limit', '0'}
  end
  redis.call('HINCRBY', KEYS[5], account, 1)
end
-- Both keys outlive the session a little (a released session's owner still refuses copies);
-- their names carry the epoch, so a reset's positions, which start again at 1, never meet them.
redis.call('SET', KEYS[3], account, 'PX', expires - now + 60000)
redis.call('SET', KEYS[4], token_id, 'PX', expires - now + 60000)
return {'bound', fmt(expires)}
