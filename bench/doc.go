// Package bench measures the real bot, the way an operator runs it: it builds
// cmd/bot with the Dockerfile's own build command, starts the binary as a
// separate process configured only through its environment, and points it at
// a fake Slack and an EnCo sandbox running in the benchmark process and at a
// real Redis. One command runs everything, prints a table and writes it, with
// the machine it ran on, to BENCHMARKS.md at the top of the module:
//
//	go test -run '^$' -bench . -benchtime 1x -timeout 30m ./bench
//
// The benchmarks use Redis database 9 of the server at 127.0.0.1:6379 and
// flush it before and after each scenario; BENCH_REDIS_URL names another
// (its database is flushed the same way, so never point it at one that holds
// data). All traffic stays on loopback, and every load is bounded in count
// and in time.
//
// BENCH_BOT_GOGC, when set, is passed to the bot as GOGC (the bot's own
// default is 400, see cmd/bot), to see what the garbage collector's target
// does to its memory and speed.
//
// With BENCH_PROFILE=1 the bot runs with DEBUG_ADDR set, and the Ack and
// Ingest scenarios take a CPU profile and an allocation profile of it under
// load; the benchmark's log names the files (in the system's temporary
// directory) for go tool pprof.
//
// A run rewrites BENCHMARKS.md but for its hand-written part, from the
// heading "## Profiles and fixes" on: what was profiled and fixed, with
// before and after.
//
// The scenarios:
//
//   - Ack: slash commands through the fake Slack socket while the sandbox
//     takes 5 s to answer; the ack latency the fake measures (p50, p99).
//   - Ingest: recorded M2M callbacks replayed as fast as a pool of clients
//     can send them (authenticated, deduplicated, stored), against the bot
//     and, with the same client and requests, a bare net/http handler that
//     makes one Redis round trip; callbacks per second and their ratio.
//     The clients keep their connections open and write requests made
//     beforehand, reading each answer with net/http's parser, so that the
//     generator takes as little as it can of the cores it shares with the
//     bot and Redis.
//   - IngestWrk: the Ingest anchor driven by wrk (Debian's package,
//     installed by the benchmark when missing and it runs as root; recorded
//     as not run otherwise), so that the load generator cannot cap the bare
//     handler and flatter "bot ÷ bare". wrk replays, with
//     bench/wrk/callbacks.lua, the recorded callbacks of 300 operations
//     (30,000 distinct results, a tenth sent twice), each once, to the bare
//     handler and to the bot; the Go generator of Ingest also drives the
//     bare handler with the same requests, as a share of wrk's rate.
//   - CallbackToPost: callbacks sent at a steady rate, each thread getting
//     one every four seconds, starting once the threads' parent messages are
//     a pace interval old (a result that comes sooner waits for the
//     channel's next slot, as Slack requires); the time until each result's
//     reply reaches the (unthrottled) fake Slack's thread (p50, p99).
//   - Bulk: 1,000 SIM cards deactivated through ten 100-card commands in one
//     channel, with the fake Slack allowing one message a second per
//     channel; Slack calls made, 429 answers, time to the last summary.
//   - Fleet: 1,000 and then 10,000 SIM cards deactivated from a file, end
//     to end: the file shared with the bot, /sim bulk's form, the preview
//     in the submission's ack, the requests to the sandbox (which answers
//     every card), the thread and the report file, in a channel paced at one
//     message a second; Slack Web API calls and 429s, the bot's peak RSS,
//     the Redis memory of the bench database's keys at its peak (MEMORY
//     USAGE, sampled every 50 ms), and the time from the sandbox's last
//     callback answered to the summary.
//   - Scheduler: with one replica idle, the Redis calls its FMU scheduler
//     makes a second (counted with MONITOR); then 1,000 FMU changes due at
//     the same moment across two replicas, and how late each reaches EnCo
//     (p50, p99), through a recorder in front of the sandbox.
//   - Memory: the bot's resident memory (VmRSS) idle after start, and its
//     peak (VmHWM) under each load.
//   - ExtraDevices: a one-card operation completed by its own callback, then
//     callbacks with its token naming devices it never asked about, driven
//     like Ingest against the bot (each answered 409, nothing written) and
//     the bare handler; callbacks per second and their ratio. It is not
//     needed for a run to rewrite BENCHMARKS.md.
//   - Peers: the bot next to a minimal Slack Bolt for JavaScript app
//     (bench/peers/bolt: socket mode, acknowledges a slash command and posts
//     one reply), each with its own fake Slack, under the same load sent to
//     one and the other in alternating rounds: ack latency p50 and p99, RSS
//     idle and peak. The peer is installed with npm ci from its committed
//     lockfile into a temporary directory; without node and npm the
//     scenario is recorded as not run.
//   - Refresh: the fake Slack refreshes the socket of one replica of the
//     bot, of the slack-go floor (bench/peers/floor: slack-go's socket-mode
//     client acknowledging every command at once with a fixed text, the
//     least a slack-go bot does) and of the Bolt for JavaScript peer on the
//     same cadence, and fails a command sent while there is no connection,
//     as Slack does; commands sent every few milliseconds the whole time;
//     commands lost and the longest time without a connection. It is not
//     needed for a run to rewrite BENCHMARKS.md.
//   - Floor: the bot against the floor of what it does. "/sim help" from 8
//     senders in alternating rounds to the bot, to the slack-go floor and
//     to the Bolt for JavaScript peer, each on its own fake Slack: ack p50
//     and p99, RSS idle and peak; then, in alternating runs against the bot
//     and the bare handler of Ingest, callbacks that change nothing on a
//     one-card operation whose card answered: the same card again (200) and
//     a card it never named (409). With BENCH_PROFILE=1 it takes a heap
//     profile of the idle bot, a CPU and allocation profile during the
//     acks and during each kind of callback. It is not needed for a run to
//     rewrite BENCHMARKS.md.
//
// Scenarios that need a tool the machine lacks are recorded as not run, so a
// full run still writes BENCHMARKS.md and says what is missing.
package bench
