-- One operation of the task API for wrk, spread over many users, each with its own token.
--
-- wrk ... -s driver.lua <url> -- op=<operation> data=<dir> threads=<n> [quota=<n>] [deletes=<file>]
--                                [nonce=<text>] [rows=<file>]
--
-- Each thread walks its own share of the operation's rows (every `threads`-th, from its index);
-- `rows` names another file of rows for the operation than its own in `data`.
-- Any answer but the operation's success status is counted by status; delete rows are never
-- reused (a second DELETE would be a 404), so running out stops the thread and is reported.
-- With a quota, a thread stops after that many answers and prints QUOTA_REACHED. The nonce goes
-- into every title written, so that no run repeats an earlier run's body (a replace that changes
-- nothing is another path of the service).
-- done() prints one line, RESULT <json>, with wrk's own counts and ours.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("index", #threads)
end

local function read_rows(path)
   local rows = {}
   for line in io.lines(path) do
      local fields = {}
      for field in string.gmatch(line, "[^\t]+") do
         fields[#fields + 1] = field
      end
      rows[#rows + 1] = fields
   end
   return rows
end

local nonce = "0"

-- A TaskInput with every field of API 1.1: the tags are normalized, the due date parsed.
local function task_body(sequence)
   return string.format(
      '{"title": "Benchmark task %s.%d", "description": "Written by the benchmark, round after ' ..
      'round.", "priority": "high", "tags": ["Bench", "work"], "due_at": "2026-12-01T17:00:00Z"}',
      nonce, sequence)
end

-- A TaskInput of a recurring task (API 2.6): a time in a zone of its own and a weekly rule, both
-- checked (the zone looked up, the rule parsed, its first occurrence found) and stored.
local function recurring_body(sequence)
   return string.format(
      '{"title": "Benchmark recurring task %s.%d", "priority": "high", "tags": ["Bench"], ' ..
      '"due": {"date": "2026-12-07", "time": "09:00", "time_zone": "Europe/Berlin"}, ' ..
      '"recurrence": {"rule": "FREQ=WEEKLY;BYDAY=MO,WE", "from": "due"}}',
      nonce, sequence)
end

-- The filtered and sorted list: pending tasks of high or urgent priority, soonest due first.
local FILTERED = "?status=pending&priority=high&priority=urgent&sort=due_at"

-- method, path and body for a row: {user id}, {user id, task id} or {user id, cursor}.
local operations = {
   list = {rows = "list_users.tsv", ok = {[200] = true}, build = function(row)
      return "GET", "/api/" .. row[1] .. "/tasks"
   end},
   list_big = {rows = "big_user.tsv", ok = {[200] = true}, build = function(row)
      return "GET", "/api/" .. row[1] .. "/tasks"
   end},
   filtered = {rows = "list_users.tsv", ok = {[200] = true}, build = function(row)
      return "GET", "/api/" .. row[1] .. "/tasks" .. FILTERED
   end},
   -- {user id, cursor}: a page from far into a big user's walk (cursors are URL-safe).
   deep_page = {rows = "deep_cursors.tsv", ok = {[200] = true}, build = function(row)
      return "GET", "/api/" .. row[1] .. "/tasks?cursor=" .. row[2]
   end},
   -- {user id, list id}: the first page of a list in the user's own order.
   manual = {rows = "lists.tsv", ok = {[200] = true}, build = function(row)
      return "GET", "/api/" .. row[1] .. "/tasks?sort=manual&list_id=" .. row[2]
   end},
   -- {user id, batch}: the operations of a batch, as JSON, in which @SEQ@ stands for the nonce
   -- and the request's sequence number (so that a title it sets is always a new one).
   batch = {rows = "batches.tsv", ok = {[200] = true}, build = function(row, sequence)
      return "POST", "/api/" .. row[1] .. "/tasks/batch",
         (string.gsub(row[2], "@SEQ@", nonce .. "." .. sequence))
   end},
   -- {user id, task id, true or false}: the task completed or reopened.
   complete = {rows = "completions.tsv", ok = {[200] = true}, build = function(row)
      return "PATCH", "/api/" .. row[1] .. "/tasks/" .. row[2] .. "/complete",
         '{"completed": ' .. row[3] .. '}'
   end},
   -- {user id, task id, neighbour id}: the task right after the neighbour, in their list.
   move = {rows = "moves.tsv", ok = {[200] = true}, build = function(row)
      return "POST", "/api/" .. row[1] .. "/tasks/" .. row[2] .. "/move",
         '{"after_id": ' .. row[3] .. '}'
   end},
   get = {rows = "targets.tsv", ok = {[200] = true}, build = function(row)
      return "GET", "/api/" .. row[1] .. "/tasks/" .. row[2]
   end},
   create = {rows = "writers.tsv", ok = {[201] = true}, build = function(row, sequence)
      return "POST", "/api/" .. row[1] .. "/tasks", task_body(sequence)
   end},
   create_recurring = {rows = "writers.tsv", ok = {[201] = true}, build = function(row, sequence)
      return "POST", "/api/" .. row[1] .. "/tasks", recurring_body(sequence)
   end},
   replace = {rows = "targets.tsv", ok = {[200] = true}, build = function(row, sequence)
      return "PUT", "/api/" .. row[1] .. "/tasks/" .. row[2], task_body(sequence)
   end},
   toggle = {rows = "targets.tsv", ok = {[200] = true}, build = function(row)
      return "PATCH", "/api/" .. row[1] .. "/tasks/" .. row[2] .. "/complete"
   end},
   -- {user id, task id}: a recurring task's occurrence completed; the task stays open, due at the
   -- next one, so that it can be completed again on the next pass over the rows.
   complete_recurring = {rows = "recurring.tsv", ok = {[200] = true}, build = function(row)
      return "PATCH", "/api/" .. row[1] .. "/tasks/" .. row[2] .. "/complete", '{"completed": true}'
   end},
   delete = {rows = nil, once = true, ok = {[204] = true}, build = function(row)
      return "DELETE", "/api/" .. row[1] .. "/tasks/" .. row[2]
   end},
}
-- A mixed load takes list, get, create and toggle in turn; an answer is fine if it is any of theirs.
local MIXED = {"list", "get", "create", "toggle"}

local tokens = {}
local plan = {}       -- the operations this thread sends, in turn
local ok_statuses = {}
local rows = {}       -- per operation name
local cursors = {}
local stride = 1
local sequence = 0

unexpected = 0
statuses = {}
exhausted = false
answered = 0
quota = 0

function init(args)
   local options = {}
   for i = 1, #args do
      local key, value = string.match(args[i], "^(%w+)=(.*)$")
      options[key] = value
   end
   stride = tonumber(options.threads)
   quota = tonumber(options.quota or "0")
   nonce = options.nonce or "0"
   for _, row in ipairs(read_rows(options.data .. "/tokens.tsv")) do
      tokens[row[1]] = row[2]
   end
   local names = options.op == "mixed" and MIXED or {options.op}
   for _, name in ipairs(names) do
      local operation = operations[name]
      plan[#plan + 1] = name
      for status in pairs(operation.ok) do
         ok_statuses[status] = true
      end
      local path = operation.rows and options.data .. "/" .. operation.rows or options.deletes
      rows[name] = read_rows(options.rows or path)
      cursors[name] = index
   end
end

function request()
   sequence = sequence + 1
   local name = plan[1 + sequence % #plan]
   local operation = operations[name]
   local list = rows[name]
   local cursor = cursors[name]
   if cursor > #list then
      if operation.once then
         exhausted = true
         wrk.thread:stop()
         return wrk.format("GET", "/health/live")
      end
      cursor = 1 + (cursor - 1) % #list
   end
   cursors[name] = cursor + stride
   local row = list[cursor]
   local method, path, body = operation.build(row, sequence)
   local headers = {["Authorization"] = tokens[row[1]]}
   if body then
      headers["Content-Type"] = "application/json"
   end
   return wrk.format(method, path, headers, body)
end

function response(status, headers, body)
   answered = answered + 1
   if not ok_statuses[status] then
      unexpected = unexpected + 1
      statuses[status] = (statuses[status] or 0) + 1
   end
   if answered == quota then
      io.write("QUOTA_REACHED\n")
      io.flush()
      wrk.thread:stop()
   end
end

function done(summary, latency, requests)
   local total, by_status, ran_out = 0, {}, false
   for _, thread in ipairs(threads) do
      total = total + thread:get("unexpected")
      for status, count in pairs(thread:get("statuses")) do
         by_status[status] = (by_status[status] or 0) + count
      end
      ran_out = ran_out or thread:get("exhausted")
   end
   local status_fields = {}
   for status, count in pairs(by_status) do
      status_fields[#status_fields + 1] = string.format('"%d": %d', status, count)
   end
   local errors = summary.errors
   io.write(string.format(
      'RESULT {"requests": %d, "duration_us": %d, "p50_us": %.0f, "p90_us": %.0f, "p99_us": %.0f, ' ..
      '"max_us": %.0f, "socket_errors": {"connect": %d, "read": %d, "write": %d, ' ..
      '"timeout": %d}, "http_errors": %d, "unexpected": %d, "unexpected_statuses": {%s}, ' ..
      '"exhausted": %s}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
      latency:percentile(99),
      latency.max, errors.connect, errors.read, errors.write, errors.timeout, errors.status,
      total, table.concat(status_fields, ", "), tostring(ran_out)))
end
