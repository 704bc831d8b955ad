-- tick_lease.lua: renews or ends the lease of the instance ticking a room,
-- only if that instance still holds it (its token): a tick that outlived
-- its lease must not cut short the next holder's.
--
-- Key names: contract/src/redis_keys.rs (EventKeys), passed in as KEYS.
--
-- KEYS[1] queue_tick
-- ARGV[1] token  ARGV[2] milliseconds the lease lasts from now (0: end it)
-- Returns 1 when the lease was this token's, 0 otherwise.

if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local ms = tonumber(ARGV[2])
if ms > 0 then
  redis.call('PEXPIRE', KEYS[1], ms)
else
  redis.call('DEL', KEYS[1])
end
return 1
