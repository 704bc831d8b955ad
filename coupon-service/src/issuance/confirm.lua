-- confirm.lua: clears the pending entries of committed reservations.
--
-- Key names: contract/src/redis_keys.rs (EventKeys), passed in as KEYS.
--
-- KEYS[1] pending  KEYS[2] holds (waiting room)
-- ARGV pairs: ticket, the pending value reserved ("user:slot:ms:idem")
-- An entry is cleared only if it still holds that exact value, so a ticket
-- re-reserved by someone else in the meantime is left alone.
-- A committed reservation made on a waiting-room hold ends the hold (a
-- first-come event has no holds hash: nothing more is read).
-- Returns how many entries it cleared.

local queued = redis.call('EXISTS', KEYS[2]) == 1
local cleared = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    redis.call('HDEL', KEYS[1], ARGV[i])
    cleared = cleared + 1
    if queued then
      local user = string.match(ARGV[i + 1], '^(%d+):')
      local hold = redis.call('HGET', KEYS[2], user)
      if hold and string.match(hold, ':(%d+)$') == ARGV[i] then
        redis.call('HDEL', KEYS[2], user)
      end
    end
  end
end
return cleared
