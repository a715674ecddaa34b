// Package logstore is the embedded CloudWatch-Logs-like store: log groups,
// log streams and events, persisted on disk in segments.
package logstore

// Event is one log event, as CloudWatch Logs stores it.
type Event struct {
	LogGroup  string
	LogStream string
	// Timestamp is the event time in Unix milliseconds (for flow logs, the
	// record's start; spec §5.2).
	Timestamp int64
	// IngestionTime is when the store accepted the event, Unix milliseconds.
	IngestionTime int64
	Message       string
}

// Query selects events for a scan. Empty fields match everything; Start is
// inclusive and End exclusive, both Unix milliseconds (0 = unbounded).
type Query struct {
	LogGroups    []string
	LogStreams   []string
	StreamPrefix string
	Start, End   int64
}
