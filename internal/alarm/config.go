// Package alarm is CloudWatch's metric filters, alarms and SNS-like
// notifications over flow log events: filter patterns turn log events into
// metric datapoints, alarms evaluate those metrics period by period through
// OK / ALARM / INSUFFICIENT_DATA, and each state change is delivered once to
// the subscribers of the alarm's topics (HTTP webhook, command, file).
package alarm

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"vpcflow/internal/yamlerr"
)

// ErrInvalidConfig is wrapped by every configuration error.
var ErrInvalidConfig = errors.New("invalid alarm configuration")

// ConfigError names the configuration element that is wrong.
type ConfigError struct {
	Path string // e.g. "alarms[0].comparisonOperator"
	Msg  string
	Err  error
}

func (e *ConfigError) Error() string {
	if e.Path == "" {
		return "alarm config: " + e.Msg
	}
	return fmt.Sprintf("alarm config: %s: %s", e.Path, e.Msg)
}

// Unwrap returns ErrInvalidConfig and the cause.
func (e *ConfigError) Unwrap() []error { return []error{ErrInvalidConfig, e.Err} }

// Config is the metric filters, alarms and topics, with the names of
// AWS's APIs (PutMetricFilter, PutMetricAlarm, SNS) in lowerCamelCase.
type Config struct {
	AccountID     string         `yaml:"accountId"`
	Region        string         `yaml:"region"`
	MetricFilters []MetricFilter `yaml:"metricFilters"`
	Alarms        []AlarmConfig  `yaml:"alarms"`
	Topics        []Topic        `yaml:"topics"`
	Delivery      Delivery       `yaml:"delivery"`
}

// MetricFilter turns matching log events into metric datapoints.
type MetricFilter struct {
	FilterName string `yaml:"filterName"`
	// LogGroupName is the group the filter applies to; "*" wildcards
	// are allowed. Events without a group (S3 objects) always apply.
	LogGroupName          string                 `yaml:"logGroupName"`
	FilterPattern         string                 `yaml:"filterPattern"`
	MetricTransformations []MetricTransformation `yaml:"metricTransformations"`
}

// AppliesTo reports whether the filter applies to events of log group
// group ("" for events without a group, such as S3 objects: always).
func (f *MetricFilter) AppliesTo(group string) bool { return groupMatches(f.LogGroupName, group) }

// MetricTransformation says what a match publishes.
type MetricTransformation struct {
	MetricNamespace string `yaml:"metricNamespace"`
	MetricName      string `yaml:"metricName"`
	// MetricValue is a number ("1") or a field reference ("$bytes",
	// "$.bytes").
	MetricValue string `yaml:"metricValue"`
	// DefaultValue is published for every event that does not match.
	DefaultValue *float64 `yaml:"defaultValue"`
	// Dimensions map a dimension name to a field reference ("$srcaddr").
	Dimensions map[string]string `yaml:"dimensions"`
	Unit       string            `yaml:"unit"`
}

// AlarmConfig is a metric alarm (PutMetricAlarm).
type AlarmConfig struct {
	AlarmName               string            `yaml:"alarmName"`
	AlarmDescription        string            `yaml:"alarmDescription"`
	Namespace               string            `yaml:"namespace"`
	MetricName              string            `yaml:"metricName"`
	Dimensions              map[string]string `yaml:"dimensions"`
	Statistic               string            `yaml:"statistic"`
	Period                  int               `yaml:"period"` // seconds
	EvaluationPeriods       int               `yaml:"evaluationPeriods"`
	DatapointsToAlarm       int               `yaml:"datapointsToAlarm"`
	Threshold               float64           `yaml:"threshold"`
	ComparisonOperator      string            `yaml:"comparisonOperator"`
	TreatMissingData        string            `yaml:"treatMissingData"`
	ActionsEnabled          *bool             `yaml:"actionsEnabled"`
	AlarmActions            []string          `yaml:"alarmActions"`
	OKActions               []string          `yaml:"okActions"`
	InsufficientDataActions []string          `yaml:"insufficientDataActions"`
}

// Topic is an SNS-like topic.
type Topic struct {
	Name          string         `yaml:"name"`
	Subscriptions []Subscription `yaml:"subscriptions"`
}

// Subscription is one subscriber of a topic.
type Subscription struct {
	// Protocol is "http", "https", "command" or "file".
	Protocol string `yaml:"protocol"`
	// Endpoint is the URL, the command line (split on spaces, no shell) or
	// the file path.
	Endpoint string `yaml:"endpoint"`
}

// Delivery configures notification retries.
type Delivery struct {
	// Retries after the first attempt (default 3).
	Retries *int `yaml:"retries"`
	// Backoff before the first retry, doubled each time (default "1s").
	Backoff string `yaml:"backoff"`
	// Timeout of one attempt (default "10s").
	Timeout string `yaml:"timeout"`
}

// Statistics, comparison operators and missing-data treatments as
// CloudWatch spells them.
var (
	statistics  = []string{"SampleCount", "Average", "Sum", "Minimum", "Maximum"}
	comparisons = []string{"GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"}
	treatments  = []string{"missing", "notBreaching", "breaching", "ignore"}
)

// DefaultConfig is an empty configuration in the default account and region.
func DefaultConfig() Config {
	return Config{AccountID: "123456789012", Region: "us-east-1"}
}

// LoadConfig reads a YAML configuration file.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	c, err := ParseConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseConfig decodes YAML over DefaultConfig, rejecting unknown keys, and
// validates the result.
func ParseConfig(b []byte) (Config, error) {
	c := DefaultConfig()
	if err := yamlerr.Decode(b, "", &c, ErrInvalidConfig); err != nil {
		return Config{}, &ConfigError{Msg: err.Error(), Err: err} // "line:column: problem"
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func oneOf(v string, list []string) bool {
	for _, x := range list {
		if v == x {
			return true
		}
	}
	return false
}

// Validate checks every element and names the first bad one.
func (c *Config) Validate() error {
	bad := func(path, format string, args ...any) error {
		return &ConfigError{Path: path, Msg: fmt.Sprintf(format, args...)}
	}
	topics := map[string]bool{}
	for i, t := range c.Topics {
		p := fmt.Sprintf("topics[%d]", i)
		if t.Name == "" {
			return bad(p+".name", "required")
		}
		if topics[t.Name] {
			return bad(p+".name", "topic %q is defined twice", t.Name)
		}
		topics[t.Name] = true
		for j, s := range t.Subscriptions {
			sp := fmt.Sprintf("%s.subscriptions[%d]", p, j)
			switch s.Protocol {
			case "http", "https":
				if !strings.HasPrefix(s.Endpoint, s.Protocol+"://") {
					return bad(sp+".endpoint", "a %s endpoint must start with %s://", s.Protocol, s.Protocol)
				}
			case "command", "file":
				if strings.TrimSpace(s.Endpoint) == "" {
					return bad(sp+".endpoint", "required")
				}
			default:
				return bad(sp+".protocol", "must be http, https, command or file, got %q", s.Protocol)
			}
		}
	}
	for i, f := range c.MetricFilters {
		p := fmt.Sprintf("metricFilters[%d]", i)
		if f.FilterName == "" {
			return bad(p+".filterName", "required")
		}
		pat, err := ParsePattern(f.FilterPattern)
		if err != nil {
			return &ConfigError{Path: p + ".filterPattern", Msg: err.Error(), Err: err}
		}
		if len(f.MetricTransformations) != 1 {
			return bad(p+".metricTransformations", "exactly one transformation is required, got %d", len(f.MetricTransformations))
		}
		for j, m := range f.MetricTransformations {
			mp := fmt.Sprintf("%s.metricTransformations[%d]", p, j)
			if m.MetricNamespace == "" || m.MetricName == "" {
				return bad(mp, "metricNamespace and metricName are required")
			}
			if err := checkRef(pat, m.MetricValue, true); err != nil {
				return bad(mp+".metricValue", "%v", err)
			}
			if len(m.Dimensions) > 3 {
				return bad(mp+".dimensions", "at most 3 dimensions, got %d", len(m.Dimensions))
			}
			if len(m.Dimensions) > 0 && m.DefaultValue != nil {
				return bad(mp+".defaultValue", "a metric with dimensions cannot have a default value")
			}
			// In key order, so that the same file always names the same
			// dimension.
			for _, k := range slices.Sorted(maps.Keys(m.Dimensions)) {
				if err := checkRef(pat, m.Dimensions[k], false); err != nil {
					return bad(mp+".dimensions."+k, "%v", err)
				}
			}
		}
	}
	names := map[string]bool{}
	for i, a := range c.Alarms {
		p := fmt.Sprintf("alarms[%d]", i)
		switch {
		case a.AlarmName == "":
			return bad(p+".alarmName", "required")
		case names[a.AlarmName]:
			return bad(p+".alarmName", "alarm %q is defined twice", a.AlarmName)
		case a.Namespace == "" || a.MetricName == "":
			return bad(p, "namespace and metricName are required")
		case !oneOf(a.Statistic, statistics):
			return bad(p+".statistic", "must be one of %s, got %q", strings.Join(statistics, ", "), a.Statistic)
		case a.Period < 10 || (a.Period > 30 && a.Period%60 != 0):
			return bad(p+".period", "must be 10, 30 or a multiple of 60 seconds, got %d", a.Period)
		case a.EvaluationPeriods < 1:
			return bad(p+".evaluationPeriods", "must be at least 1, got %d", a.EvaluationPeriods)
		case a.DatapointsToAlarm < 0 || a.DatapointsToAlarm > a.EvaluationPeriods:
			return bad(p+".datapointsToAlarm", "must be from 1 to evaluationPeriods (%d), got %d", a.EvaluationPeriods, a.DatapointsToAlarm)
		case !oneOf(a.ComparisonOperator, comparisons):
			return bad(p+".comparisonOperator", "must be one of %s, got %q", strings.Join(comparisons, ", "), a.ComparisonOperator)
		case a.TreatMissingData != "" && !oneOf(a.TreatMissingData, treatments):
			return bad(p+".treatMissingData", "must be one of %s, got %q", strings.Join(treatments, ", "), a.TreatMissingData)
		}
		names[a.AlarmName] = true
		// In a fixed order (alarm, OK, insufficient-data actions), so that the
		// same file always names the same action.
		for _, acts := range []struct {
			kind string
			list []string
		}{{"alarmActions", a.AlarmActions}, {"okActions", a.OKActions}, {"insufficientDataActions", a.InsufficientDataActions}} {
			for j, act := range acts.list {
				if !topics[topicName(act)] {
					return bad(fmt.Sprintf("%s.%s[%d]", p, acts.kind, j), "no topic named %q", act)
				}
			}
		}
	}
	if _, _, _, err := c.Delivery.values(); err != nil {
		return bad("delivery", "%v", err)
	}
	return nil
}

// topicName accepts a topic name or an SNS ARN (arn:aws:sns:region:acct:name).
func topicName(action string) string {
	if strings.HasPrefix(action, "arn:") {
		if i := strings.LastIndexByte(action, ':'); i >= 0 {
			return action[i+1:]
		}
	}
	return action
}

func checkRef(p *Pattern, ref string, numberOK bool) error {
	if ref == "" {
		return errors.New("required")
	}
	if numberOK {
		if _, err := strconv.ParseFloat(ref, 64); err == nil {
			return nil
		}
	}
	if !strings.HasPrefix(ref, "$") {
		if numberOK {
			return fmt.Errorf("must be a number or a $field reference, got %q", ref)
		}
		return fmt.Errorf("must be a $field reference, got %q", ref)
	}
	switch p.Kind {
	case PatternDelimited:
		if _, ok := p.byName[ref[1:]]; !ok {
			return fmt.Errorf("%s is not a field of the filter pattern", ref)
		}
	case PatternJSON:
		if !strings.HasPrefix(ref, "$.") {
			return fmt.Errorf("JSON patterns reference values as $.path, got %q", ref)
		}
	default:
		return fmt.Errorf("%s: only space-delimited and JSON patterns extract fields", ref)
	}
	return nil
}

func (d Delivery) values() (retries int, backoff, timeout time.Duration, err error) {
	retries, backoff, timeout = 3, time.Second, 10*time.Second
	if d.Retries != nil {
		if *d.Retries < 0 {
			return 0, 0, 0, fmt.Errorf("retries must be >= 0")
		}
		retries = *d.Retries
	}
	if d.Backoff != "" {
		if backoff, err = time.ParseDuration(d.Backoff); err != nil {
			return 0, 0, 0, fmt.Errorf("backoff: %w", err)
		}
	}
	if d.Timeout != "" {
		if timeout, err = time.ParseDuration(d.Timeout); err != nil {
			return 0, 0, 0, fmt.Errorf("timeout: %w", err)
		}
	}
	return retries, backoff, timeout, nil
}
