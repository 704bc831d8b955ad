-- admit.lua: admits the next places of a waiting room while a unit of
-- stock stands behind each: each admitted user holds one unit until
-- claim_by (the holds' '#held' field counts the holds not yet pressed; a
-- pressed one has taken its unit from `stock` already). Idempotent per user: a user already holding is admitted again
-- without taking a second unit (the ticking instance may have crashed
-- between this script and PostgreSQL's record of it).
--
-- Key names: contract/src/redis_keys.rs (EventKeys), passed in as KEYS.
--
-- KEYS[1] info  KEYS[2] stock  KEYS[3] holds
-- ARGV[1] claim_by (unix ms)  ARGV[2..] users, in the room's order
-- Returns the users holding a unit now, a prefix of ARGV[2..] in the same
-- order (it stops at the first user no unit stands behind); {-1} when the
-- event is not loaded.

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {-1}
end
local free = tonumber(redis.call('GET', KEYS[2]) or '0')
  - tonumber(redis.call('HGET', KEYS[3], '#held') or '0')
local admitted = {}
for i = 2, #ARGV do
  local user = ARGV[i]
  if redis.call('HEXISTS', KEYS[3], user) == 0 then
    if free <= 0 then
      break
    end
    free = free - 1
    redis.call('HSET', KEYS[3], user, ARGV[1])
    redis.call('HINCRBY', KEYS[3], '#held', 1)
  end
  admitted[#admitted + 1] = tonumber(user)
end
return admitted
