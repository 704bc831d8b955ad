-- reserve.lua: the whole first-come decision for one request, atomically.
--
-- Key names: contract/src/redis_keys.rs (EventKeys), passed in as KEYS.
--
-- KEYS[1] info     KEYS[2] stock    KEYS[3] next     KEYS[4] free
-- KEYS[5] users    KEYS[6] pending  KEYS[7] holds (waiting room)
-- KEYS[8] idempotency record (may be unused)  KEYS[9] this call's record
-- ARGV[1] user id
-- ARGV[2] idempotency key hash, or "" when the request has no key
-- ARGV[3] idempotency record TTL (seconds)
-- ARGV[4] this call's record TTL (seconds)
--
-- The call's record makes a second run of the same call (the Redis client
-- retries a call whose reply was lost, on a cluster) answer with the first
-- run's reservation instead of reserving a second unit, or refusing the
-- user for the unit the first run took.
--
-- Returns {code, ticket, slot, remaining, reserved_ms}:
--   1  reserved: a fresh reservation, now pending (or this call's own, run
--      again)
--   2  replay: this idempotency key already holds ticket/slot
--  -1  not loaded: the event's keys are missing (never loaded, or Redis lost them)
--  -2  not started   -3  ended (window over or closed)
--  -4  sold out      -5  user limit reached (or, queued, a claim being written)
--  -6  not admitted: a queued event, and the user holds no admission (or its
--      claim window passed)
--
-- An event with a room (info.admission 'queue' or 'draw', anything but
-- 'first_come'): an admission (a draw's win) holds a unit for the user in `holds` until claim_by (counted in its '#held' field, so the
-- room admits only while stock > held); the holder's press takes its unit
-- from `stock` like any press and marks the hold with the ticket
-- (released: the hold is unmarked and counted again; committed: the hold
-- is gone). Nobody else passes. `stock` keeps its meaning: units not taken.
-- The clock is Redis TIME, one clock for every instance.

local info = redis.call('HMGET', KEYS[1], 'start_ms', 'end_ms', 'total', 'max_per_user', 'closed',
  'admission')
if not info[1] then
  return {-1, 0, 0, 0, 0}
end
local user = ARGV[1]
local idem = ARGV[2]

local ran = redis.call('GET', KEYS[9])
if ran then
  local ticket, slot, remaining, at = string.match(ran, '^(%d+):(%d+):(%-?%d+):(%d+)$')
  return {1, tonumber(ticket), tonumber(slot), tonumber(remaining), tonumber(at)}
end

if idem ~= '' then
  local earlier = redis.call('GET', KEYS[8])
  if earlier then
    local ticket, slot = string.match(earlier, '^(%d+):(%d+)$')
    local remaining = tonumber(redis.call('GET', KEYS[2]) or '0')
    return {2, tonumber(ticket), tonumber(slot), remaining, 0}
  end
end

local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if info[5] == '1' or now_ms >= tonumber(info[2]) then
  return {-3, 0, 0, 0, 0}
end
if now_ms < tonumber(info[1]) then
  return {-2, 0, 0, 0, 0}
end

local remaining = tonumber(redis.call('GET', KEYS[2]) or '0')
local claim_by = nil
if info[6] and info[6] ~= 'first_come' then
  local hold = redis.call('HGET', KEYS[7], user)
  if hold then
    local by, writing = string.match(hold, '^(%d+):?(%d*)$')
    if writing ~= '' then
      return {-5, 0, 0, remaining, 0}
    end
    if tonumber(by) > now_ms then
      claim_by = by
    end
  end
  if not claim_by and remaining > 0 then
    return {-6, 0, 0, remaining, 0}
  end
end
if remaining <= 0 then
  return {-4, 0, 0, 0, 0}
end

-- The user's slots: '1' held, '0' given back. A slot given back is reused;
-- otherwise the next position. Never one a committed coupon holds.
local held = redis.call('HGET', KEYS[5], user) or ''
local _, count = string.gsub(held, '1', '')
if count >= tonumber(info[4]) then
  return {-5, 0, 0, remaining, 0}
end
local slot = string.find(held, '0', 1, true) or (#held + 1)

-- A returned ticket first, else a fresh one. Returned tickets above the
-- total (the admin lowered the stock) are dropped, not handed out.
local total = tonumber(info[3])
local ticket = redis.call('SPOP', KEYS[4])
while ticket and tonumber(ticket) > total do
  ticket = redis.call('SPOP', KEYS[4])
end
if ticket then
  ticket = tonumber(ticket)
else
  ticket = redis.call('INCR', KEYS[3])
  if ticket > total then
    -- stock said >0 but every ticket is out: state is inconsistent; refuse
    -- rather than invent a ticket the database would reject anyway.
    redis.call('DECR', KEYS[3])
    return {-4, 0, 0, 0, 0}
  end
end

remaining = redis.call('DECR', KEYS[2])
if claim_by then
  redis.call('HSET', KEYS[7], user, claim_by .. ':' .. ticket)
  redis.call('HINCRBY', KEYS[7], '#held', -1)
end
redis.call('HSET', KEYS[5], user, string.sub(held, 1, slot - 1) .. '1' .. string.sub(held, slot + 1))
redis.call('HSET', KEYS[6], ticket, user .. ':' .. slot .. ':' .. now_ms .. ':' .. idem)
if idem ~= '' then
  redis.call('SET', KEYS[8], ticket .. ':' .. slot, 'EX', tonumber(ARGV[3]))
end
redis.call('SET', KEYS[9], ticket .. ':' .. slot .. ':' .. remaining .. ':' .. now_ms,
  'EX', tonumber(ARGV[4]))
return {1, ticket, slot, remaining, now_ms}
