-- expire_holds.lua: takes back the units of admissions whose claim window
-- passed, for the next places (the unit never left `stock`: it is only no
-- longer counted as held).
--
-- Key names: contract/src/redis_keys.rs (EventKeys), passed in as KEYS.
--
-- KEYS[1] stock  KEYS[2] holds
-- ARGV users PostgreSQL says were admitted with claim_by passed
-- A hold whose claim is being written ("claim_by:ticket") is left to its
-- write: committed, the hold ends; given back, the next run takes it.
-- Returns the users holding nothing now (taken back here, or gone already:
-- claimed, or lost with a Redis flush — PostgreSQL tells which).

local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local gone = {}
for i = 1, #ARGV do
  local hold = redis.call('HGET', KEYS[2], ARGV[i])
  if not hold then
    gone[#gone + 1] = tonumber(ARGV[i])
  elseif string.match(hold, '^%d+$') and tonumber(hold) <= now_ms then
    redis.call('HDEL', KEYS[2], ARGV[i])
    redis.call('HINCRBY', KEYS[2], '#held', -1)
    gone[#gone + 1] = tonumber(ARGV[i])
  end
end
return gone
