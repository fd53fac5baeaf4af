-- End an account's turn because its work is done: its session goes (the place goes back to the
-- line), its owner key says the turn was used (a late copy is told so, not that it was lost),
-- and the account's entry in the turns hash goes if it still names this admission.
-- KEYS: sessions zset, owner key, turns hash
-- ARGV[1] the admission's token id, ARGV[2] the account, ARGV[3] the finished mark,
--       ARGV[4] how long the owner key stays (ms)
local token_id, account = ARGV[1], ARGV[2]
redis.call('ZREM', KEYS[1], token_id)
redis.call('SET', KEYS[2], account .. ARGV[3], 'PX', ARGV[4])
if redis.call('HGET', KEYS[3], account) == token_id then redis.call('HDEL', KEYS[3], account) end
return 1
