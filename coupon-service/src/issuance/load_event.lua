-- load_event.lua: writes an event's whole issuance state, as rebuilt from
-- PostgreSQL, unless the event is already loaded.
--
-- Key names: contract/src/redis_keys.rs (EventKeys), passed in as KEYS.
--
-- KEYS[1] info  KEYS[2] stock  KEYS[3] next  KEYS[4] free  KEYS[5] users
-- KEYS[6] pending  KEYS[7] holds
-- ARGV[1] start_ms  ARGV[2] end_ms  ARGV[3] total  ARGV[4] max_per_user
-- ARGV[5] closed ("1"/"0")  ARGV[6] expire_at_ms (unix ms)
-- ARGV[7] version (coupon_events.state_version read with the rest)
-- ARGV[8] admission ("first_come"/"queue"/"draw")
-- ARGV[9] remaining
-- ARGV[10] highest ticket committed  ARGV[11] n free tickets
-- ARGV[12 .. 11+n] free tickets; ARGV[12+n] m users; then m pairs user,
-- held-slots string; then pairs user, claim_by_ms of the waiting room's
-- unclaimed holds
-- Returns 1 when it loaded, 0 when the event was already there.

if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
-- Leftovers of a partial loss are replaced wholesale by the rebuilt state.
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7])

redis.call('HSET', KEYS[1], 'start_ms', ARGV[1], 'end_ms', ARGV[2], 'total', ARGV[3],
  'max_per_user', ARGV[4], 'closed', ARGV[5], 'expire_at_ms', ARGV[6], 'version', ARGV[7],
  'admission', ARGV[8])
redis.call('SET', KEYS[2], ARGV[9])
redis.call('SET', KEYS[3], ARGV[10])

local n_free = tonumber(ARGV[11])
for i = 12, 11 + n_free do
  redis.call('SADD', KEYS[4], ARGV[i])
end
-- A placeholder field keeps the hashes in existence so they carry the TTL.
redis.call('HSET', KEYS[5], '_', '')
local users_at = 12 + n_free
local n_users = tonumber(ARGV[users_at])
for i = users_at + 1, users_at + 2 * n_users, 2 do
  redis.call('HSET', KEYS[5], ARGV[i], ARGV[i + 1])
end
redis.call('HSET', KEYS[6], '_', '')
-- Only a queued or drawn event has holds (their count keeps the hash in existence):
-- the release and confirm scripts of a first-come sale look no further.
if ARGV[8] ~= 'first_come' then
  local held = 0
  for i = users_at + 1 + 2 * n_users, #ARGV, 2 do
    redis.call('HSET', KEYS[7], ARGV[i], ARGV[i + 1])
    held = held + 1
  end
  redis.call('HSET', KEYS[7], '#held', held)
end

for i = 1, 7 do
  redis.call('PEXPIREAT', KEYS[i], ARGV[6])
end
return 1
