-- update_event.lua: applies an admin change to a loaded event's state.
-- Idempotent (it sets values rather than adding), so a retry is safe, and
-- ordered: a write whose version is not newer than the one stored is
-- ignored, so an admin write landing late never undoes a newer one (a
-- PATCH after a close would reopen the sale).
--
-- Key names: contract/src/redis_keys.rs (EventKeys), passed in as KEYS.
--
-- KEYS[1] info  KEYS[2] stock  KEYS[3] next  KEYS[4] free  KEYS[5] users
-- KEYS[6] pending  KEYS[7] holds
-- ARGV[1] start_ms  ARGV[2] end_ms  ARGV[3] total  ARGV[4] max_per_user
-- ARGV[5] closed ("1"/"0")  ARGV[6] expire_at_ms  ARGV[7] version
-- (coupon_events.state_version)  ARGV[8] admission
-- Returns 1 when applied, 0 when the event is not loaded (a later load reads
-- the new values from PostgreSQL), 2 when the stored version is as new or
-- newer (a copy without one counts as version 0).

local stored = redis.call('HMGET', KEYS[1], 'total', 'version')
local old_total = stored[1]
if not old_total then
  return 0
end
if tonumber(ARGV[7]) <= tonumber(stored[2] or '0') then
  return 2
end
-- Raising the stock adds tickets at once; lowering removes untaken ones.
local delta = tonumber(ARGV[3]) - tonumber(old_total)
if delta ~= 0 then
  redis.call('INCRBY', KEYS[2], delta)
end
redis.call('HSET', KEYS[1], 'start_ms', ARGV[1], 'end_ms', ARGV[2], 'total', ARGV[3],
  'max_per_user', ARGV[4], 'closed', ARGV[5], 'expire_at_ms', ARGV[6], 'version', ARGV[7],
  'admission', ARGV[8])
-- An event given a room (queue or draw) before it opened gets its (empty)
-- holds.
if ARGV[8] ~= 'first_come' then
  redis.call('HSETNX', KEYS[7], '#held', 0)
end
for i = 1, 7 do
  redis.call('PEXPIREAT', KEYS[i], ARGV[6])
end
return 1
