// Package insights is a CloudWatch Logs Insights query engine for VPC flow
// logs (spec §9.2): a hand-written lexer and recursive-descent parser, a
// printer whose output parses back to the same query, and a streaming
// executor over any Source of log events (the logstore, gzip text files,
// memory).
//
// Language: commands fields, filter, stats … by …, sort … asc|desc, limit,
// parse (glob "*" and /regex/ with (?<name>…) groups), display and dedup,
// joined by "|"; "#" starts a comment. Expressions have arithmetic
// (+ - * / % ^), comparisons (= != < <= > >=), and/or/not, like "text",
// like /regex/, not like, =~ /regex/, in [..] and not in [..]. Commands,
// keywords and function names are case-insensitive; field names are not
// (`backquotes` for names with other characters).
//
// Fields: the flow log fields of each message are discovered with AWS's
// names — version, accountId, interfaceId, srcAddr, dstAddr, srcPort,
// dstPort, protocol, packets, bytes, startTime, endTime, action, logStatus
// for the default format (other formats through Options.Format, in
// camelCase: vpcId, tcpFlags, pktSrcAddr, …) — next to @timestamp,
// @message, @logStream, @log (account:group) and @ingestionTime. A message
// whose token count differs from the format has no discovered fields.
// Numeric fields are numbers; "-" in a numeric field is null, "-" in a
// text field stays "-". A comparison or in with a null is unknown, and
// not, and, or keep it unknown (three-valued logic); filter keeps what is
// true, so `x != 1` and `not x = 1` select the same events.
//
// Semantics chosen where AWS documents none (each is covered by a script
// test in testdata/):
//   - Events reach the first limit or dedup newest first (an implicit
//     `sort @timestamp desc`) unless a sort or stats comes before it, so a
//     later sort reorders the newest events rather than picking others; a
//     query without stats and without sort returns the newest events
//     first, showing @timestamp and @message unless fields/display say
//     otherwise. Only limit may follow dedup, as in Logs Insights. Without any limit at most 1000 rows are returned; limit
//     accepts 1 to 10000.
//   - sort is ascending unless desc is given; the order is AWS's natural
//     sort (non-numbers before numbers, digit runs by length then value);
//     nulls sort last either way; ties keep arrival order.
//   - stats rows come out in the order their group was first seen; group
//     columns come before aggregation columns; a stats over no rows
//     returns no rows. Column names are the alias, else the expression as
//     written (count(*), bin(1h)); a later command may refer to an
//     aggregation by its text (sort count(*) desc).
//   - Values that look like numbers compare and add as numbers; like is a
//     substring match; comparisons with a missing field are false.
//   - count_distinct is exact; stddev is the sample standard deviation;
//     pct uses the nearest rank; earliest/latest pick by @timestamp.
//   - Time values print as "2006-01-02 15:04:05.000" (UTC), as
//     GetQueryResults does; bin() and datefloor() align fixed periods on
//     the epoch, weeks on Monday, months/quarters/years on the calendar.
//   - Results omit fields whose value is null, as GetQueryResults does.
//
// Speed: only the fields a query names are extracted, straight from the
// message (a record in AWS's single-space layout is not split: each token
// is found from the nearer end); stats keep one state per group and
// sort+limit keeps only the top rows, so memory does not grow with the
// number of events.
package insights
