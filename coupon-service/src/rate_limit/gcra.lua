-- gcra.lua: one request against a rate limit shared by every instance
-- (generic cell rate algorithm: the key holds the theoretical arrival time
-- of the next request, in microseconds of Redis' clock).
--
-- Key names: contract/src/redis_keys.rs (rate_limit_key), passed in as KEYS.
--
-- KEYS[1] the limit's key for one subject (a user, an address)
-- ARGV[1] emission interval in microseconds (one request's share)
-- ARGV[2] burst: requests allowed at once
-- Returns 0 when the request passes, else the microseconds to wait.

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local emission = tonumber(ARGV[1])
local tolerance = emission * (tonumber(ARGV[2]) - 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then
  tat = now
end
local wait = tat - now - tolerance
if wait > 0 then
  return wait
end
local next_tat = tat + emission
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX', math.floor((next_tat - now) / 1000) + 1)
return 0
