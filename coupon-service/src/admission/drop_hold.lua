-- drop_hold.lua: an admitted user leaves the room; the unit goes to the
-- next place.
--
-- Key names: contract/src/redis_keys.rs (EventKeys), passed in as KEYS.
--
-- KEYS[1] stock  KEYS[2] holds
-- ARGV[1] user
-- Returns 1 when the hold was given back, 0 when there was none, -1 when
-- the user's claim is being written (leaving now would race the coupon).

local hold = redis.call('HGET', KEYS[2], ARGV[1])
if not hold then
  return 0
end
if not string.match(hold, '^%d+$') then
  return -1
end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[2], '#held', -1)
return 1
