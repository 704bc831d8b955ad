-- remember_revocation.lua: records a revocation in the set of recent ones
-- (read by instances that start or come back from a fan-out gap), keeping
-- the later time when it is there already, and the set bounded.
--
-- KEYS[1] the revocations sorted set (sessions', or whole accounts')
-- ARGV[1] `<user id>|<session or ->`   ARGV[2] when (unix ms)
-- ARGV[3] forget entries before this (unix ms)   ARGV[4] keep at most this many
-- ARGV[5] the set's TTL (ms): it goes when no revocation came for that long

local before = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not before or tonumber(before) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[4]) - 1)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
