-- gcra.lua: one request against a rate limit shared by every instance
-- (generic cell rate algorithm: the key holds the theoretical arrival time
-- of the next request, in microseconds of Redis' clock, and the id of the
-- call that last passed).
--
-- Key names: contract/src/redis_keys.rs (rate_limit_key), passed in as KEYS.
--
-- KEYS[1] the limit's key for one subject (a user, an address)
-- ARGV[1] emission interval in microseconds (one request's share)
-- ARGV[2] burst: requests allowed at once
-- ARGV[3] this call's id: a client that retries a call whose reply was lost
--         runs it again with the same id, and the request is not charged
--         twice (it passes again)
-- Returns 0 when the request passes, else the microseconds to wait.

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local emission = tonumber(ARGV[1])
local tolerance = emission * (tonumber(ARGV[2]) - 1)
local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then
  local at, call = string.match(stored, '^(%d+):?(.*)$')
  if call == ARGV[3] then
    return 0
  end
  tat = tonumber(at) or now
end
if tat < now then
  tat = now
end
local wait = tat - now - tolerance
if wait > 0 then
  return wait
end
local next_tat = tat + emission
redis.call('SET', KEYS[1], string.format('%d', next_tat) .. ':' .. ARGV[3],
  'PX', math.floor((next_tat - now) / 1000) + 1)
return 0
