// Package flowlog holds flow log resources — CreateFlowLogs, DescribeFlowLogs
// and DeleteFlowLogs with AWS's parameters, validation and error codes
// (spec §6) — persisted in the data directory, and the Service that runs
// them: it routes Observations to the aggregators of the flow logs whose
// scope covers the interface and hands the records of closed capture windows
// to each flow log's Destination.
package flowlog

import (
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"vpcflow/internal/flow"

	crand "crypto/rand"

	"vpcflow/internal/publish"
	"vpcflow/internal/vpc"
)

// FileName is the store's file in the data directory.
const FileName = "flowlogs.json"

// Resources says which resources exist, to validate CreateFlowLogs'
// ResourceIds. *vpc.Topology satisfies it through TopologyResources.
type Resources interface {
	HasVPC(id string) bool
	HasSubnet(id string) bool
	HasInterface(id string) bool
}

// TopologyResources adapts a topology to Resources.
type TopologyResources struct{ Topology *vpc.Topology }

// HasVPC implements Resources.
func (r TopologyResources) HasVPC(id string) bool { return r.Topology.VPC(id) != nil }

// HasSubnet implements Resources.
func (r TopologyResources) HasSubnet(id string) bool { return r.Topology.Subnet(id) != nil }

// HasInterface implements Resources.
func (r TopologyResources) HasInterface(id string) bool { return r.Topology.Interface(id) != nil }

// StoreConfig configures a Store.
type StoreConfig struct {
	// DataDir holds flowlogs.json. Empty keeps flow logs in memory only.
	DataDir string
	// AccountID and Region own the flow logs created (S3 keys, log group
	// ARNs, IAM role checks).
	AccountID string
	Region    string
	// Seed makes flow log ids deterministic (simulations). 0 draws a random
	// seed on first use. Either way the seed and the id counter are
	// persisted, so ids never repeat across restarts.
	Seed uint64
}

// DefaultStoreConfig returns a configuration for the example account.
func DefaultStoreConfig() StoreConfig {
	return StoreConfig{DataDir: "vpcflow-data", AccountID: "123456789012", Region: "us-east-1"}
}

// StoreDeps are the Store's dependencies.
type StoreDeps struct {
	// Resources validates resource ids; nil accepts every well-formed id.
	Resources Resources
	// Now is the clock (CreationTime); nil is time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// state is what the file holds.
type state struct {
	Version  int                     `json:"Version"`
	Seed     uint64                  `json:"Seed"`
	NextID   uint64                  `json:"NextId"`
	FlowLogs []Resource              `json:"FlowLogs"`
	Tokens   map[string]CreateOutput `json:"ClientTokens,omitempty"`
	// TokenRequests holds, per client token, the request it answered
	// (requestFingerprint), so that a reuse with other parameters is told
	// apart from a retry.
	TokenRequests map[string]string `json:"ClientTokenRequests,omitempty"`
}

func (s *state) clone() *state {
	c := *s
	c.FlowLogs = slices.Clone(s.FlowLogs)
	c.Tokens = maps.Clone(s.Tokens)
	if c.Tokens == nil {
		c.Tokens = map[string]CreateOutput{}
	}
	c.TokenRequests = maps.Clone(s.TokenRequests)
	if c.TokenRequests == nil {
		c.TokenRequests = map[string]string{}
	}
	return &c
}

// requestFingerprint identifies a CreateFlowLogs request apart from its
// client token and DryRun.
func requestFingerprint(in CreateInput) string {
	in.ClientToken, in.DryRun = "", false
	b, _ := json.Marshal(in)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Store holds the flow log resources. It is safe for concurrent use.
type Store struct {
	cfg  StoreConfig
	deps StoreDeps

	mu sync.Mutex
	st *state
}

// OpenStore loads the store from cfg.DataDir (an absent file is an empty
// store).
func OpenStore(cfg StoreConfig, deps StoreDeps) (*Store, error) {
	if !reAccount.MatchString(cfg.AccountID) {
		return nil, fmt.Errorf("flow log store: account id %q: want 12 digits", cfg.AccountID)
	}
	if !reRegion.MatchString(cfg.Region) {
		return nil, fmt.Errorf("flow log store: region %q: want a region name such as us-east-1", cfg.Region)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{cfg: cfg, deps: deps, st: &state{Version: 1, Seed: cfg.Seed}}
	if cfg.DataDir == "" {
		return s, nil
	}
	path := filepath.Join(cfg.DataDir, FileName)
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("load flow logs: %w", err)
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("load flow logs: %s: %w", path, err)
	}
	if st.Version != 1 {
		return nil, fmt.Errorf("load flow logs: %s: unsupported version %d", path, st.Version)
	}
	for i, r := range st.FlowLogs {
		if _, err := r.Format(); err != nil {
			return nil, fmt.Errorf("load flow logs: %s: flow log %d (%s): %w", path, i, r.FlowLogID, err)
		}
	}
	s.st = &st
	return s, nil
}

// save writes st atomically: a temporary file in the data directory,
// synced, then renamed over flowlogs.json.
func (s *Store) save(st *state) error {
	if s.cfg.DataDir == "" {
		return nil
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("save flow logs: %w", err)
	}
	data = append(data, '\n')
	if err := os.MkdirAll(s.cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("save flow logs: %w", err)
	}
	f, err := os.CreateTemp(s.cfg.DataDir, "."+FileName+".*.tmp")
	if err != nil {
		return fmt.Errorf("save flow logs: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.cfg.DataDir, FileName))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save flow logs: %w", err)
	}
	if d, err := os.Open(s.cfg.DataDir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// update applies fn to a copy of the state and makes it current once saved.
func (s *Store) update(fn func(st *state) error) error {
	next := s.st.clone()
	if err := fn(next); err != nil {
		return err
	}
	if err := s.save(next); err != nil {
		return err
	}
	s.st = next
	return nil
}

// newID draws the next flow log id: "fl-" and 17 hex digits, a function of
// the seed and a counter.
func (st *state) newID() string {
	if st.Seed == 0 {
		var b [8]byte
		crand.Read(b[:])
		st.Seed = binary.LittleEndian.Uint64(b[:]) | 1
	}
	r := rand.New(rand.NewPCG(st.Seed, st.NextID))
	st.NextID++
	return fmt.Sprintf("fl-%017x", r.Uint64())
}

// Create is CreateFlowLogs. Request-level problems are returned as *Error;
// per-resource failures (unknown or malformed id, duplicate, limit) go into
// CreateOutput.Unsuccessful.
func (s *Store) Create(in CreateInput) (CreateOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, verr := validate(in, s.cfg.AccountID, s.cfg.Region)
	if verr != nil {
		return CreateOutput{}, verr
	}
	if in.DryRun {
		return CreateOutput{}, DryRun()
	}
	if in.ClientToken != "" {
		if out, ok := s.st.Tokens[in.ClientToken]; ok {
			if fp, known := s.st.TokenRequests[in.ClientToken]; known && fp != requestFingerprint(in) {
				return CreateOutput{}, errorf(CodeIdempotentParameterMismatch,
					"The client token %s was used by an earlier request with other parameters.", in.ClientToken)
			}
			return out, nil
		}
	}
	out := CreateOutput{ClientToken: in.ClientToken, FlowLogIDs: []string{}, Unsuccessful: []UnsuccessfulItem{}}
	err := s.update(func(st *state) error {
		now := s.deps.Now().UTC().Truncate(time.Millisecond)
		for _, id := range in.ResourceIDs {
			if e := s.checkResource(st, c, id); e != nil {
				out.Unsuccessful = append(out.Unsuccessful, UnsuccessfulItem{Error: *e, ResourceID: id})
				continue
			}
			flid := st.newID()
			for s.find(st, flid) >= 0 {
				flid = st.newID()
			}
			st.FlowLogs = append(st.FlowLogs, Resource{
				FlowLog: FlowLog{
					CreationTime:             Time{now},
					DeliverLogsPermissionArn: in.DeliverLogsPermissionArn,
					DeliverCrossAccountRole:  in.DeliverCrossAccountRole,
					DeliverLogsStatus:        string(publish.DeliverySuccess),
					FlowLogID:                flid,
					FlowLogStatus:            "ACTIVE",
					LogGroupName:             c.logGroup,
					ResourceID:               id,
					TrafficType:              in.TrafficType,
					LogDestinationType:       c.in.LogDestinationType,
					LogDestination:           c.destination,
					LogFormat:                c.format.String(),
					Tags:                     slices.Clone(c.tags),
					MaxAggregationInterval:   c.interval,
					DestinationOptions:       c.options,
				},
				ResourceType: in.ResourceType,
				AccountID:    s.cfg.AccountID,
				Region:       s.cfg.Region,
			})
			out.FlowLogIDs = append(out.FlowLogIDs, flid)
		}
		if in.ClientToken != "" {
			st.Tokens[in.ClientToken] = out
			st.TokenRequests[in.ClientToken] = requestFingerprint(in)
		}
		return nil
	})
	if err != nil {
		return CreateOutput{}, err
	}
	for _, id := range out.FlowLogIDs {
		s.deps.Logger.Info("flow log created", "flow_log_id", id)
	}
	return out, nil
}

func (s *Store) checkResource(st *state, c *checked, id string) *Error {
	typ := c.in.ResourceType
	if e := checkResourceID(typ, id); e != nil {
		return e
	}
	if r := s.deps.Resources; r != nil {
		var ok bool
		switch typ {
		case ResourceVPC:
			ok = r.HasVPC(id)
		case ResourceSubnet:
			ok = r.HasSubnet(id)
		default:
			ok = r.HasInterface(id)
		}
		if !ok {
			return notFound(typ, id)
		}
	}
	n := 0
	for _, fl := range st.FlowLogs {
		if fl.ResourceID != id {
			continue
		}
		n++
		if fl.LogDestinationType == c.in.LogDestinationType && fl.LogDestination == c.destination &&
			fl.TrafficType == c.in.TrafficType {
			return errorf(CodeFlowLogAlreadyExists, "A flow log with the specified configuration already exists.")
		}
	}
	if n >= MaxFlowLogsPerResource {
		return errorf(CodeFlowLogsLimitExceeded, "You've reached the limit on the number of flow logs you can create (%d per resource).", MaxFlowLogsPerResource)
	}
	return nil
}

func (s *Store) find(st *state, id string) int {
	return slices.IndexFunc(st.FlowLogs, func(r Resource) bool { return r.FlowLogID == id })
}

// StatusFunc reports the delivery status of a running flow log; ok is false
// when the flow log is not running.
type StatusFunc func(flowLogID string) (st publish.Status, ok bool)

var filterNames = []string{"deliver-log-status", "log-destination-type", "flow-log-id", "log-group-name", "resource-id", "traffic-type", "tag-key"}

// Describe is DescribeFlowLogs. status, when not nil, gives the current
// DeliverLogsStatus and DeliverLogsErrorMessage.
func (s *Store) Describe(in DescribeInput, status StatusFunc) (DescribeOutput, error) {
	if len(in.FlowLogIDs) > MaxFlowLogIDs {
		return DescribeOutput{}, errorf(CodeInvalidParameterValue, "The request contains %d flow log IDs; the maximum is %d", len(in.FlowLogIDs), MaxFlowLogIDs)
	}
	for _, f := range in.Filters {
		if !slices.Contains(filterNames, f.Name) && !strings.HasPrefix(f.Name, "tag:") {
			return DescribeOutput{}, errorf(CodeInvalidParameterValue, "The filter '%s' is invalid", f.Name)
		}
	}
	if in.MaxResults != 0 && (in.MaxResults < 5 || in.MaxResults > 1000) {
		return DescribeOutput{}, invalidValue("MaxResults", strconv.Itoa(in.MaxResults), "Expecting a value between 5 and 1000.")
	}
	if in.DryRun {
		return DescribeOutput{}, DryRun()
	}
	start := 0
	if in.NextToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		n, perr := strconv.Atoi(string(b))
		if err != nil || perr != nil || n < 0 {
			return DescribeOutput{}, invalidValue("NextToken", in.NextToken, "")
		}
		start = n
	}
	s.mu.Lock()
	all := slices.Clone(s.st.FlowLogs)
	s.mu.Unlock()

	out := DescribeOutput{FlowLogs: []FlowLog{}}
	matched := 0
	for _, r := range all {
		fl := r.FlowLog
		if status != nil {
			if st, ok := status(fl.FlowLogID); ok {
				fl.DeliverLogsStatus = string(cmp.Or(st.State, publish.DeliverySuccess))
				fl.DeliverLogsErrorMessage = ""
				if st.State == publish.DeliveryFailed {
					fl.DeliverLogsErrorMessage = cmp.Or(st.Message, "Unknown error")
				}
			}
		}
		if len(in.FlowLogIDs) > 0 && !slices.Contains(in.FlowLogIDs, fl.FlowLogID) {
			continue
		}
		if !matchFilters(&fl, in.Filters) {
			continue
		}
		matched++
		if matched <= start {
			continue
		}
		if in.MaxResults > 0 && len(out.FlowLogs) == in.MaxResults {
			out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(matched - 1)))
			break
		}
		out.FlowLogs = append(out.FlowLogs, fl)
	}
	return out, nil
}

func matchFilters(fl *FlowLog, filters []Filter) bool {
	for _, f := range filters {
		var ok bool
		switch f.Name {
		case "deliver-log-status":
			ok = slices.Contains(f.Values, fl.DeliverLogsStatus)
		case "log-destination-type":
			ok = slices.Contains(f.Values, fl.LogDestinationType)
		case "flow-log-id":
			ok = slices.Contains(f.Values, fl.FlowLogID)
		case "log-group-name":
			ok = fl.LogGroupName != "" && slices.Contains(f.Values, fl.LogGroupName)
		case "resource-id":
			ok = slices.Contains(f.Values, fl.ResourceID)
		case "traffic-type":
			ok = slices.Contains(f.Values, fl.TrafficType)
		case "tag-key":
			ok = slices.ContainsFunc(fl.Tags, func(t Tag) bool { return slices.Contains(f.Values, t.Key) })
		default: // tag:<key>
			key := strings.TrimPrefix(f.Name, "tag:")
			ok = slices.ContainsFunc(fl.Tags, func(t Tag) bool { return t.Key == key && slices.Contains(f.Values, t.Value) })
		}
		if !ok {
			return false
		}
	}
	return true
}

// Delete is DeleteFlowLogs: unknown ids go into Unsuccessful with
// InvalidFlowLogId.NotFound. Existing data at the destination is untouched.
func (s *Store) Delete(in DeleteInput) (DeleteOutput, error) {
	if len(in.FlowLogIDs) == 0 {
		return DeleteOutput{}, missing("FlowLogId")
	}
	if len(in.FlowLogIDs) > MaxFlowLogIDs {
		return DeleteOutput{}, errorf(CodeInvalidParameterValue, "The request contains %d flow log IDs; the maximum is %d", len(in.FlowLogIDs), MaxFlowLogIDs)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.DryRun {
		return DeleteOutput{}, DryRun()
	}
	out := DeleteOutput{Unsuccessful: []UnsuccessfulItem{}}
	var deleted []string
	err := s.update(func(st *state) error {
		for _, id := range in.FlowLogIDs {
			i := s.find(st, id)
			if i < 0 {
				out.Unsuccessful = append(out.Unsuccessful, UnsuccessfulItem{
					Error:      FlowLogNotFound(id),
					ResourceID: id,
				})
				continue
			}
			st.FlowLogs = slices.Delete(st.FlowLogs, i, i+1)
			deleted = append(deleted, id)
		}
		return nil
	})
	if err != nil {
		return DeleteOutput{}, err
	}
	for _, id := range deleted {
		s.deps.Logger.Info("flow log deleted", "flow_log_id", id)
	}
	return out, nil
}

// List returns every flow log, in creation order.
func (s *Store) List() []Resource {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.st.FlowLogs)
}

// Get returns one flow log.
func (s *Store) Get(id string) (Resource, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(s.st, id)
	if i < 0 {
		return Resource{}, false
	}
	return s.st.FlowLogs[i], true
}

// LogGroupFormat is the record format of the flow logs that publish to the
// given CloudWatch log groups (every group when none is given), when they
// all share one. Logs Insights discovers the flow log fields of the
// default format only; vpcflow also discovers those of a custom format
// when the data directory knows it (a choice: AWS documents discovery for
// the default format and is silent on custom ones). ok is false when no
// such flow log exists or their formats differ.
func (s *Store) LogGroupFormat(groups ...string) (f flow.Format, ok bool) {
	for _, r := range s.List() {
		if r.LogDestinationType != DestinationCloudWatchLogs || (len(groups) > 0 && !slices.Contains(groups, r.LogGroupName)) {
			continue
		}
		rf, err := r.Format()
		if err != nil || (ok && !rf.Equal(f)) {
			return flow.Format{}, false
		}
		f, ok = rf, true
	}
	return f, ok
}
