-- The bulkhead's slots in use, as a sorted set of lease ids scored by expiry (server time, ms),
-- and the line of processes with callers queued for one. Every operation first drops expired
-- leases and waiters, so a crashed holder's slots, and a crashed waiter's place, come back by
-- themselves. Arguments are built by leasesCall() in leases.ts.
-- KEYS[1]: the sorted set of leases. KEYS[2]: the line: one member per process (store) with
--   callers queued, scored by the time its first queued caller has waited since (server ms).
--   KEYS[3]: the same members, scored by when each falls out of the line unless it says more.
--   KEYS[4]: leases released that a renewal sent before their release may still name, scored by
--   when each record lapses (leaseTtl after the release): such a renewal, run after the release
--   (a cluster client retries a command it got TRYAGAIN, CLUSTERDOWN or MOVED for after later
--   ones), adds none of them again.
-- ARGV: op ('acquire' | 'adopt' | 'release' | 'retire' | 'renew' | 'retake'), maxConcurrent,
--   leaseTtlMs, then: acquire, the new lease's id and the ids of leases to free first (freed by
--   this process while Redis was away); adopt, the new lease's id, the count k of leases to add
--   whatever the limit (for calls this process still runs on slots of its own, taken while Redis
--   was away), those k ids, then the ids of leases to free first; release, the ids of the leases
--   to free; retire, the same, recorded in KEYS[4] (as are the leases acquire and adopt free
--   first): a renewal may have named them; renew, the ids of the leases to renew; retake, the
--   same after a time without Redis (the leases of every call this process still runs); both
--   add again, whatever the limit, the leases Redis no longer has (those calls still run), bar
--   those recorded in KEYS[4] (released since: their calls have ended).
--   An op ending in '+' ('acquire+', ...) has three more arguments at the end, this process's
--   place in the line: its name, how long its first queued caller has waited (ms; -1: nobody
--   waits there any more, it leaves the line) and how long its place lasts unless renewed (ms).
-- A slot is granted only when more are free than processes stand in the line ahead of the caller
--   (all of them, for a caller from a process with nobody queued), so the slots freed while
--   callers wait go to the process whose caller has waited longest.
-- Replies: acquire and adopt { granted 1/0, in use, wait, others }; release and retire { 1, in
--   use, wait, others }; renew and retake { in use, { ids added again }, wait, others };
--   wait: how long the caller first in line in another process has waited (ms), -1 when none
--   waits; others: how many other processes stand in the line.
if redis.replicate_commands then pcall(redis.replicate_commands) end
local key = KEYS[1]
local line = KEYS[2]
local stay = KEYS[3]
local released = KEYS[4]
local op = ARGV[1]
local max = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local last = #ARGV
local me = false
local age = -1
local placeTtl = 0
if string.sub(op, -1) == '+' then
  op = string.sub(op, 1, -2)
  me = ARGV[last - 2]
  age = tonumber(ARGV[last - 1])
  placeTtl = tonumber(ARGV[last])
  last = last - 3
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
local gone = redis.call('ZRANGEBYSCORE', stay, '-inf', now)
if #gone > 0 then
  redis.call('ZREM', line, unpack(gone))
  redis.call('ZREMRANGEBYSCORE', stay, '-inf', now)
end
local mine = false
if me then
  if age >= 0 then
    mine = now - age
    redis.call('ZADD', line, mine, me)
    redis.call('ZADD', stay, now + placeTtl, me)
    redis.call('PEXPIRE', line, placeTtl)
    redis.call('PEXPIRE', stay, placeTtl)
  else
    redis.call('ZREM', line, me)
    redis.call('ZREM', stay, me)
  end
end
-- How long the caller first in line in another process has waited, -1 when none waits.
local function waited()
  local first = redis.call('ZRANGE', line, 0, 1, 'WITHSCORES')
  local at = 2
  if first[1] == me then at = 4 end
  if first[at] == nil then return -1 end
  return now - tonumber(first[at])
end
-- How many other processes stand in the line: the slots owed to their callers before any caller
-- from a process with nobody queued. `inLine`: how many stand in it, when already read.
local function others(inLine)
  local n = inLine or redis.call('ZCARD', line)
  -- This process stands in the line exactly when it said it waits (`mine`, placed above).
  if mine then n = n - 1 end
  return n
end
-- Ids go to a command a thousand at a time: `unpack` takes a few thousand values at most.
local CHUNK = 1000
-- Frees the leases ARGV[from..last].
local function free(from)
  for i = from, last, CHUNK do
    redis.call('ZREM', key, unpack(ARGV, i, math.min(i + CHUNK - 1, last)))
  end
end
-- Records the leases ARGV[from..last] as released for leaseTtl, then frees them (recorded
-- first, so a command that fails part way frees none it has not recorded).
local function retire(from)
  redis.call('ZREMRANGEBYSCORE', released, '-inf', now)
  for i = from, last, CHUNK do
    local records = {}
    for j = i, math.min(i + CHUNK - 1, last) do
      records[#records + 1] = now + ttl
      records[#records + 1] = ARGV[j]
    end
    redis.call('ZADD', released, unpack(records))
  end
  -- Never sooner than a record of another process's, whose leaseTtl may be longer.
  if redis.call('PTTL', released) < ttl then redis.call('PEXPIRE', released, ARGV[3]) end
  free(from)
end
-- Adds again, whatever the limit, the lease `id` of a call this process runs, unless it was
-- released since (its call has ended) while `recorded` says any is; true when it was gone.
local function keep(id, recorded)
  if recorded and redis.call('ZSCORE', released, id) then return false end
  return redis.call('ZADD', key, now + ttl, id) == 1
end
-- Whether any lease released lately is recorded (those lapsed dropped).
local function anyRecorded()
  redis.call('ZREMRANGEBYSCORE', released, '-inf', now)
  return redis.call('EXISTS', released) == 1
end
if op == 'acquire' or op == 'adopt' then
  local first = 5
  if op == 'adopt' then
    local k = tonumber(ARGV[5])
    first = 6 + k
    local recorded = anyRecorded()
    for i = 6, 5 + k do keep(ARGV[i], recorded) end
    redis.call('PEXPIRE', key, ARGV[3])
  end
  if last >= first then retire(first) end
  local n = redis.call('ZCARD', key)
  -- The line's length, read once for a caller from a process with nobody queued.
  local ahead, inLine
  if mine then
    ahead = redis.call('ZCOUNT', line, '-inf', '(' .. string.format('%d', mine))
  else
    inLine = redis.call('ZCARD', line)
    ahead = inLine
  end
  if n + ahead < max then
    redis.call('ZADD', key, now + ttl, ARGV[4])
    redis.call('PEXPIRE', key, ARGV[3])
    return { 1, n + 1, waited(), others(inLine) }
  end
  return { 0, n, waited(), others(inLine) }
elseif op == 'release' then
  if last >= 4 then free(4) end
  return { 1, redis.call('ZCARD', key), waited(), others() }
elseif op == 'retire' then
  if last >= 4 then retire(4) end
  return { 1, redis.call('ZCARD', key), waited(), others() }
end
-- renew and retake: every lease named runs a call of this process, so one Redis no longer has (a
-- restart or flush emptied it, or it expired while this process was paused or cut off) is added
-- again, whatever the limit: a call that runs is never left uncounted. One released since (a
-- renewal run after a later release) is not: its call has ended.
local added = {}
local recorded = last >= 4 and anyRecorded()
for i = 4, last do
  if keep(ARGV[i], recorded) then added[#added + 1] = ARGV[i] end
end
local n = redis.call('ZCARD', key)
if n > 0 then redis.call('PEXPIRE', key, ARGV[3]) end
return { n, added, waited(), others() }
