package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"vpcflow/internal/alarm"
	"vpcflow/internal/logstore"
)

// QueryRunner runs a Logs Insights query over log groups in a time range
// (Unix seconds, end inclusive as StartQuery's endTime is) and returns rows
// of (field, value) pairs plus statistics.
type QueryRunner interface {
	RunQuery(ctx context.Context, groups []string, start, end int64, query string) (QueryResult, error)
}

// QueryChecker is implemented by a QueryRunner that can tell a malformed
// query before running it: StartQuery then refuses it at once
// (MalformedQueryException), as CloudWatch does, instead of a query that
// fails later.
type QueryChecker interface {
	CheckQuery(query string) error
}

// QueryResult is what GetQueryResults reports.
type QueryResult struct {
	Rows [][]ResultField
	// Statistics as GetQueryResults spells them.
	RecordsMatched, RecordsScanned, BytesScanned float64
}

// ResultField is one field of one result row.
type ResultField struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

// LogsActions serves the CloudWatch Logs JSON API over the embedded store.
type LogsActions struct {
	Store *logstore.Store
	// Owner returns the account that owns a log group ("" = nobody).
	Owner  func(group string) string
	Region string
	// Queries runs StartQuery; nil answers StartQuery as unsupported.
	Queries QueryRunner
	Now     func() time.Time

	mu      sync.Mutex
	queries map[string]*queryJob
	seq     int
}

type queryJob struct {
	account  string
	status   string // Scheduled | Running | Complete | Failed | Cancelled
	result   QueryResult
	err      error
	cancel   context.CancelFunc
	created  time.Time
	finished chan struct{}
}

// LogsAction implements LogsBackend.
func (a *LogsActions) LogsAction(r *http.Request, account, action string, body []byte) (any, error) {
	switch action {
	case "DescribeLogGroups":
		return a.describeLogGroups(account, body)
	case "DescribeLogStreams":
		return a.describeLogStreams(account, body)
	case "GetLogEvents":
		return a.getLogEvents(r.Context(), account, body)
	case "FilterLogEvents":
		return a.filterLogEvents(r.Context(), account, body)
	case "StartQuery":
		return a.startQuery(account, body)
	case "GetQueryResults":
		return a.getQueryResults(account, body)
	case "StopQuery":
		return a.stopQuery(account, body)
	}
	return nil, &Error{Status: http.StatusBadRequest, Code: "UnknownOperationException", Message: "Operation " + action + " is not supported."}
}

func invalidParam(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "InvalidParameterException", Message: fmt.Sprintf(format, args...)}
}

var errNoGroup = &Error{Status: http.StatusBadRequest, Code: "ResourceNotFoundException", Message: "The specified log group does not exist."}

func (a *LogsActions) owns(account, group string) bool {
	return a.Owner != nil && a.Owner(group) == account
}

func (a *LogsActions) groupARN(account, group string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", a.Region, account, group)
}

// pageToken is an opaque offset token for the Describe calls.
func pageToken(i int) string { return "o" + strconv.Itoa(i) }

func parsePageToken(tok string) (int, error) {
	if tok == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(strings.TrimPrefix(tok, "o"))
	if err != nil || !strings.HasPrefix(tok, "o") || n < 0 {
		return 0, invalidParam("The specified nextToken is invalid.")
	}
	return n, nil
}

func limitOf(v *int, def, max int) (int, error) {
	if v == nil {
		return def, nil
	}
	if *v < 1 || *v > max {
		return 0, invalidParam("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and %d", *v, max)
	}
	return *v, nil
}

func (a *LogsActions) describeLogGroups(account string, body []byte) (any, error) {
	var in struct {
		LogGroupNamePrefix  string `json:"logGroupNamePrefix"`
		LogGroupNamePattern string `json:"logGroupNamePattern"`
		NextToken           string `json:"nextToken"`
		Limit               *int   `json:"limit"`
		IncludeLinked       bool   `json:"includeLinkedAccounts"`
		LogGroupClass       string `json:"logGroupClass"`
	}
	if err := DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	limit, err := limitOf(in.Limit, 50, 50)
	if err != nil {
		return nil, err
	}
	off, err := parsePageToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	type group struct {
		Name              string `json:"logGroupName"`
		CreationTime      int64  `json:"creationTime"`
		MetricFilterCount int    `json:"metricFilterCount"`
		ARN               string `json:"arn"`
		StoredBytes       int64  `json:"storedBytes"`
		LogGroupClass     string `json:"logGroupClass"`
		LogGroupARN       string `json:"logGroupArn"`
	}
	var all []group
	for _, g := range a.Store.LogGroups() {
		if !a.owns(account, g.Name) || !strings.HasPrefix(g.Name, in.LogGroupNamePrefix) ||
			in.LogGroupNamePattern != "" && !strings.Contains(g.Name, in.LogGroupNamePattern) {
			continue
		}
		arn := a.groupARN(account, g.Name)
		all = append(all, group{g.Name, g.CreationTime, 0, arn + ":*", g.StoredBytes, "STANDARD", arn})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	page, next := pageOf(all, off, limit)
	return struct {
		LogGroups []group `json:"logGroups"`
		NextToken string  `json:"nextToken,omitempty"`
	}{page, next}, nil
}

// pageOf returns the page of items at offset off and the token of the next
// page ("" at the end). The page is never nil, so it encodes as [].
func pageOf[T any](items []T, off, limit int) ([]T, string) {
	if off >= len(items) {
		return []T{}, ""
	}
	end := min(off+limit, len(items))
	if end < len(items) {
		return items[off:end], pageToken(end)
	}
	return items[off:end], ""
}

// groupName is the log group a request names, by name or identifier.
func groupName(name, identifier string) string {
	if name != "" {
		return name
	}
	return identifier
}

func (a *LogsActions) describeLogStreams(account string, body []byte) (any, error) {
	var in struct {
		LogGroupName        string `json:"logGroupName"`
		LogGroupIdentifier  string `json:"logGroupIdentifier"`
		LogStreamNamePrefix string `json:"logStreamNamePrefix"`
		OrderBy             string `json:"orderBy"`
		Descending          bool   `json:"descending"`
		NextToken           string `json:"nextToken"`
		Limit               *int   `json:"limit"`
	}
	if err := DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	group := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if group == "" {
		return nil, invalidParam("Either logGroupName or logGroupIdentifier must be specified.")
	}
	if in.OrderBy == "LastEventTime" && in.LogStreamNamePrefix != "" {
		return nil, invalidParam("Cannot order by LastEventTime with a logStreamNamePrefix.")
	}
	if in.OrderBy != "" && in.OrderBy != "LogStreamName" && in.OrderBy != "LastEventTime" {
		return nil, invalidParam("orderBy must be LogStreamName or LastEventTime.")
	}
	limit, err := limitOf(in.Limit, 50, 50)
	if err != nil {
		return nil, err
	}
	off, err := parsePageToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	if !a.owns(account, group) {
		return nil, errNoGroup
	}
	streams, err := a.Store.LogStreams(group)
	if err != nil {
		return nil, mapStoreError(err)
	}
	type stream struct {
		Name                string `json:"logStreamName"`
		CreationTime        int64  `json:"creationTime"`
		FirstEventTimestamp int64  `json:"firstEventTimestamp,omitempty"`
		LastEventTimestamp  int64  `json:"lastEventTimestamp,omitempty"`
		LastIngestionTime   int64  `json:"lastIngestionTime,omitempty"`
		ARN                 string `json:"arn"`
		StoredBytes         int64  `json:"storedBytes"`
	}
	var all []stream
	for _, s := range streams {
		if !strings.HasPrefix(s.Name, in.LogStreamNamePrefix) {
			continue
		}
		all = append(all, stream{s.Name, s.CreationTime, s.FirstEventTimestamp, s.LastEventTimestamp, s.LastIngestionTime,
			a.groupARN(account, group) + ":log-stream:" + s.Name, s.StoredBytes})
	}
	sort.Slice(all, func(i, j int) bool {
		if in.OrderBy == "LastEventTime" && all[i].LastEventTimestamp != all[j].LastEventTimestamp {
			return all[i].LastEventTimestamp < all[j].LastEventTimestamp
		}
		return all[i].Name < all[j].Name
	})
	if in.Descending {
		for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
			all[i], all[j] = all[j], all[i]
		}
	}
	page, next := pageOf(all, off, limit)
	return struct {
		LogStreams []stream `json:"logStreams"`
		NextToken  string   `json:"nextToken,omitempty"`
	}{page, next}, nil
}

type outEvent struct {
	LogStreamName string `json:"logStreamName,omitempty"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId,omitempty"`
}

func (a *LogsActions) getLogEvents(ctx context.Context, account string, body []byte) (any, error) {
	var in struct {
		LogGroupName       string `json:"logGroupName"`
		LogGroupIdentifier string `json:"logGroupIdentifier"`
		LogStreamName      string `json:"logStreamName"`
		StartTime          int64  `json:"startTime"`
		EndTime            int64  `json:"endTime"`
		NextToken          string `json:"nextToken"`
		Limit              *int   `json:"limit"`
		StartFromHead      bool   `json:"startFromHead"`
		Unmask             bool   `json:"unmask"`
	}
	if err := DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	group := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if group == "" || in.LogStreamName == "" {
		return nil, invalidParam("logGroupName and logStreamName are required.")
	}
	limit, err := limitOf(in.Limit, 10000, 10000)
	if err != nil {
		return nil, err
	}
	if !a.owns(account, group) {
		return nil, errNoGroup
	}
	res, err := a.Store.GetLogEvents(ctx, logstore.GetLogEventsInput{LogGroup: group, LogStream: in.LogStreamName,
		StartTime: in.StartTime, EndTime: in.EndTime, NextToken: in.NextToken, Limit: limit, StartFromHead: in.StartFromHead})
	if err != nil {
		return nil, mapStoreError(err)
	}
	out := struct {
		Events            []outEvent `json:"events"`
		NextForwardToken  string     `json:"nextForwardToken"`
		NextBackwardToken string     `json:"nextBackwardToken"`
	}{Events: make([]outEvent, 0, len(res.Events)), NextForwardToken: res.NextForwardToken, NextBackwardToken: res.NextBackwardToken}
	for _, e := range res.Events {
		out.Events = append(out.Events, outEvent{Timestamp: e.Timestamp, Message: e.Message, IngestionTime: e.IngestionTime})
	}
	return out, nil
}

func (a *LogsActions) filterLogEvents(ctx context.Context, account string, body []byte) (any, error) {
	var in struct {
		LogGroupName        string   `json:"logGroupName"`
		LogGroupIdentifier  string   `json:"logGroupIdentifier"`
		LogStreamNames      []string `json:"logStreamNames"`
		LogStreamNamePrefix string   `json:"logStreamNamePrefix"`
		StartTime           int64    `json:"startTime"`
		EndTime             int64    `json:"endTime"`
		FilterPattern       string   `json:"filterPattern"`
		NextToken           string   `json:"nextToken"`
		Limit               *int     `json:"limit"`
		Interleaved         bool     `json:"interleaved"`
		Unmask              bool     `json:"unmask"`
	}
	if err := DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	group := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if group == "" {
		return nil, invalidParam("logGroupName is required.")
	}
	if len(in.LogStreamNames) > 0 && in.LogStreamNamePrefix != "" {
		return nil, invalidParam("logStreamNames and logStreamNamePrefix cannot both be specified.")
	}
	limit, err := limitOf(in.Limit, 10000, 10000)
	if err != nil {
		return nil, err
	}
	// The filter pattern language of metric filters and FilterLogEvents
	// is one: terms with ? alternatives, [space-delimited] fields with
	// comparisons, {JSON} (spec §9.4); the alarm package compiles it.
	pat, err := alarm.ParsePattern(in.FilterPattern)
	if err != nil {
		return nil, invalidParam("Invalid filter pattern: %v", err)
	}
	if !a.owns(account, group) {
		return nil, errNoGroup
	}
	// FilterLogEvents' endTime is inclusive ("events with a timestamp
	// later than this time are not returned"), GetLogEvents' exclusive.
	end := in.EndTime
	if end != 0 && end < math.MaxInt64 {
		end++
	}
	res, err := a.Store.FilterLogEvents(ctx, logstore.FilterLogEventsInput{LogGroup: group, LogStreamNames: in.LogStreamNames,
		LogStreamNamePrefix: in.LogStreamNamePrefix, StartTime: in.StartTime, EndTime: end,
		Match: func(e *logstore.Event) bool { return pat.Match(e.Message) }, Limit: limit, NextToken: in.NextToken})
	if err != nil {
		return nil, mapStoreError(err)
	}
	out := struct {
		Events    []outEvent `json:"events"`
		NextToken string     `json:"nextToken,omitempty"`
	}{Events: make([]outEvent, 0, len(res.Events)), NextToken: res.NextToken}
	for i, e := range res.Events {
		out.Events = append(out.Events, outEvent{LogStreamName: e.LogStream, Timestamp: e.Timestamp, Message: e.Message,
			IngestionTime: e.IngestionTime, EventID: fmt.Sprintf("%020d%016d", e.Timestamp, i)})
	}
	return out, nil
}

func mapStoreError(err error) error {
	switch {
	case errors.Is(err, logstore.ErrNoSuchGroup):
		return errNoGroup
	case errors.Is(err, logstore.ErrNoSuchStream):
		return &Error{Status: http.StatusBadRequest, Code: "ResourceNotFoundException", Message: "The specified log stream does not exist."}
	case errors.Is(err, logstore.ErrBadToken):
		return invalidParam("The specified nextToken is invalid.")
	}
	if strings.Contains(err.Error(), "pattern") {
		return invalidParam("Invalid filter pattern: %s", err.Error())
	}
	return err
}

// ---- Logs Insights queries ----

func (a *LogsActions) startQuery(account string, body []byte) (any, error) {
	var in struct {
		LogGroupName        string   `json:"logGroupName"`
		LogGroupNames       []string `json:"logGroupNames"`
		LogGroupIdentifiers []string `json:"logGroupIdentifiers"`
		StartTime           *int64   `json:"startTime"`
		EndTime             *int64   `json:"endTime"`
		QueryString         string   `json:"queryString"`
		Limit               *int     `json:"limit"`
		QueryLanguage       string   `json:"queryLanguage"`
	}
	if err := DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if a.Queries == nil {
		return nil, &Error{Status: http.StatusBadRequest, Code: "UnknownOperationException", Message: "Logs Insights queries are not enabled on this server."}
	}
	groups := append([]string(nil), in.LogGroupNames...)
	groups = append(groups, in.LogGroupIdentifiers...)
	if in.LogGroupName != "" {
		groups = append(groups, in.LogGroupName)
	}
	if len(groups) == 0 || in.StartTime == nil || in.EndTime == nil || in.QueryString == "" {
		return nil, invalidParam("logGroupName(s), startTime, endTime and queryString are required.")
	}
	if *in.EndTime < *in.StartTime {
		return nil, invalidParam("endTime must be greater than or equal to startTime.")
	}
	for _, g := range groups {
		_, err := a.Store.LogStreams(g) // a group that does not exist is not found, as in another account
		if !a.owns(account, g) || err != nil {
			return nil, &Error{Status: http.StatusBadRequest, Code: "ResourceNotFoundException", Message: "Log group '" + g + "' does not exist for account ID '" + account + "'"}
		}
	}
	query := in.QueryString
	if in.Limit != nil {
		query += fmt.Sprintf(" | limit %d", *in.Limit)
	}
	if c, ok := a.Queries.(QueryChecker); ok {
		if err := c.CheckQuery(query); err != nil {
			return nil, &Error{Status: http.StatusBadRequest, Code: "MalformedQueryException", Message: err.Error()}
		}
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	a.mu.Lock()
	if a.queries == nil {
		a.queries = map[string]*queryJob{}
	}
	a.expireLocked(now())
	if n := a.runningLocked(account); n >= 30 {
		a.mu.Unlock()
		return nil, &Error{Status: http.StatusBadRequest, Code: "LimitExceededException", Message: "Account maximum query concurrency limit of [30] reached."}
	}
	a.seq++
	id := fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", a.seq, a.seq&0xffff, a.seq&0xfff, (a.seq>>12)&0xfff, now().UnixNano()&0xffffffffffff)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	job := &queryJob{account: account, status: "Running", cancel: cancel, created: now(), finished: make(chan struct{})}
	a.queries[id] = job
	a.mu.Unlock()
	go func() {
		defer close(job.finished)
		defer cancel()
		res, err := a.Queries.RunQuery(ctx, groups, *in.StartTime, *in.EndTime, query)
		a.mu.Lock()
		defer a.mu.Unlock()
		switch {
		case job.status == "Cancelled":
		case err != nil:
			job.status, job.err = "Failed", err
		default:
			job.status, job.result = "Complete", res
		}
	}()
	return struct {
		QueryID string `json:"queryId"`
	}{id}, nil
}

// runningLocked counts an account's unfinished queries.
func (a *LogsActions) runningLocked(account string) int {
	n := 0
	for _, j := range a.queries {
		if j.account == account && (j.status == "Running" || j.status == "Scheduled") {
			n++
		}
	}
	return n
}

// expireLocked forgets finished queries older than a day, as AWS keeps
// results for a limited time.
func (a *LogsActions) expireLocked(now time.Time) {
	for id, j := range a.queries {
		if j.status != "Running" && now.Sub(j.created) > 24*time.Hour {
			delete(a.queries, id)
		}
	}
}

func (a *LogsActions) job(account string, body []byte) (*queryJob, string, error) {
	var in struct {
		QueryID string `json:"queryId"`
	}
	if err := DecodeJSON(body, &in); err != nil {
		return nil, "", err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	j, ok := a.queries[in.QueryID]
	if !ok || j.account != account {
		return nil, "", &Error{Status: http.StatusBadRequest, Code: "ResourceNotFoundException", Message: "Query does not exist."}
	}
	return j, in.QueryID, nil
}

func (a *LogsActions) getQueryResults(account string, body []byte) (any, error) {
	j, _, err := a.job(account, body)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	type stats struct {
		RecordsMatched float64 `json:"recordsMatched"`
		RecordsScanned float64 `json:"recordsScanned"`
		BytesScanned   float64 `json:"bytesScanned"`
	}
	out := struct {
		Results    [][]ResultField `json:"results"`
		Statistics stats           `json:"statistics"`
		Status     string          `json:"status"`
	}{Results: [][]ResultField{}, Status: j.status}
	if j.status == "Failed" {
		return nil, invalidParam("Query failed: %v", j.err)
	}
	if j.status == "Complete" {
		if j.result.Rows != nil {
			out.Results = j.result.Rows // no rows stay [], not null
		}
		out.Statistics = stats{j.result.RecordsMatched, j.result.RecordsScanned, j.result.BytesScanned}
	}
	return out, nil
}

func (a *LogsActions) stopQuery(account string, body []byte) (any, error) {
	j, _, err := a.job(account, body)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	running := j.status == "Running"
	if running {
		j.status = "Cancelled"
		j.cancel()
	}
	a.mu.Unlock()
	if !running {
		return nil, invalidParam("Query is not running.")
	}
	return struct {
		Success bool `json:"success"`
	}{true}, nil
}
