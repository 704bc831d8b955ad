-- release.lua: settles one pending reservation; idempotent.
--
-- Key names: contract/src/redis_keys.rs (EventKeys), passed in as KEYS.
--
-- KEYS[1] stock  KEYS[2] free  KEYS[3] users  KEYS[4] pending
-- KEYS[5] idempotency record of the reservation (may be unused)
-- KEYS[6] holds (waiting room)
-- ARGV[1] ticket
-- ARGV[2] the pending value the caller reserved ("user:slot:ms:idem")
-- ARGV[3] "1" to give the ticket back (nobody holds it in PostgreSQL)
-- ARGV[4] "1" to give the user's slot back (no committed coupon holds it)
--
-- Confirming a committed reservation is release with "0","0": it only clears
-- the pending entry. Returns 1 when it settled the entry, 0 when the entry was
-- already settled (or belongs to someone else now): nothing changes twice.
--
-- A reservation made on a waiting-room hold (the hold reads
-- "claim_by:ticket"): when the user got no coupon (slot given back) the hold
-- is the holder's again, counted in '#held' (the holder may press again
-- until claim_by; after that the room takes the hold back); otherwise the
-- hold is gone.

if redis.call('HGET', KEYS[4], ARGV[1]) ~= ARGV[2] then
  return 0
end
redis.call('HDEL', KEYS[4], ARGV[1])

local user, slot = string.match(ARGV[2], '^(%d+):(%d+):')
local hold = redis.call('HGET', KEYS[6], user)
if hold then
  local claim_by, ticket = string.match(hold, '^(%d+):(%d+)$')
  if ticket == ARGV[1] and ARGV[4] == '1' then
    redis.call('HSET', KEYS[6], user, claim_by)
    redis.call('HINCRBY', KEYS[6], '#held', 1)
  elseif ticket == ARGV[1] then
    redis.call('HDEL', KEYS[6], user)
  end
end

if ARGV[3] == '1' then
  redis.call('SADD', KEYS[2], ARGV[1])
  redis.call('INCR', KEYS[1])
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then
    redis.call('PEXPIRE', KEYS[2], ttl)
  end
end

if ARGV[4] == '1' then
  local held = redis.call('HGET', KEYS[3], user)
  slot = tonumber(slot)
  if held and string.sub(held, slot, slot) == '1' then
    held = string.sub(held, 1, slot - 1) .. '0' .. string.sub(held, slot + 1)
    redis.call('HSET', KEYS[3], user, held)
  end
end

-- A reservation that did not become a coupon must not be replayed to a retry.
if ARGV[3] == '1' or ARGV[4] == '1' then
  local idem = string.match(ARGV[2], '^%d+:%d+:%d+:(.*)$')
  if idem and idem ~= '' then
    local record = redis.call('GET', KEYS[5])
    if record == (ARGV[1] .. ':' .. string.match(ARGV[2], '^%d+:(%d+):')) then
      redis.call('DEL', KEYS[5])
    end
  end
end
return 1
