package alarm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Notification is an SNS "Notification" message, as SNS posts it to HTTP
// subscribers.
type Notification struct {
	Type             string `json:"Type"`
	MessageID        string `json:"MessageId"`
	TopicArn         string `json:"TopicArn"`
	Subject          string `json:"Subject"`
	Message          string `json:"Message"`
	Timestamp        string `json:"Timestamp"`
	SignatureVersion string `json:"SignatureVersion"`
	Signature        string `json:"Signature"`
	SigningCertURL   string `json:"SigningCertURL"`
	UnsubscribeURL   string `json:"UnsubscribeURL"`
}

// Delivery is the outcome of delivering one notification to one subscriber.
type DeliveryResult struct {
	Topic    string
	Endpoint string
	Attempts int
	Err      error
}

// Notifier delivers notifications to the subscribers of topics, with
// retries, at most once per (message, subscriber).
type Notifier struct {
	account, region string
	topics          map[string]Topic
	retries         int
	backoff         time.Duration
	timeout         time.Duration
	client          *http.Client
	log             *slog.Logger
	// Sleep waits between attempts; tests replace it.
	sleep func(context.Context, time.Duration) error

	mu        sync.Mutex
	delivered map[string]bool // MessageId + "\x00" + endpoint
}

func newNotifier(c Config, deps Deps) *Notifier {
	retries, backoff, timeout, _ := c.Delivery.values()
	n := &Notifier{account: c.AccountID, region: c.Region, topics: map[string]Topic{},
		retries: retries, backoff: backoff, timeout: timeout, client: deps.HTTPClient, log: deps.Logger,
		sleep: deps.Sleep, delivered: map[string]bool{}}
	if n.client == nil {
		n.client = &http.Client{}
	}
	if n.sleep == nil {
		n.sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	for _, t := range c.Topics {
		n.topics[t.Name] = t
	}
	return n
}

// TopicArn is the ARN of a topic in the configured account and region.
func (n *Notifier) TopicArn(name string) string {
	return fmt.Sprintf("arn:aws:sns:%s:%s:%s", n.region, n.account, name)
}

// messageID derives a stable id from what identifies one state change, so
// re-evaluating the same change never notifies twice.
func messageID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	s := hex.EncodeToString(h[:16])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// Publish delivers a message to every subscriber of topic.
func (n *Notifier) Publish(ctx context.Context, topic, subject, message, id string, at time.Time) []DeliveryResult {
	t, ok := n.topics[topicName(topic)]
	if !ok {
		return []DeliveryResult{{Topic: topic, Err: fmt.Errorf("no topic named %q", topic)}}
	}
	note := Notification{Type: "Notification", MessageID: id, TopicArn: n.TopicArn(t.Name), Subject: subject,
		Message: message, Timestamp: at.UTC().Format("2006-01-02T15:04:05.000Z"), SignatureVersion: "1",
		SigningCertURL: "", UnsubscribeURL: ""}
	body := []byte(marshalNoEscape(note))
	var out []DeliveryResult
	for _, s := range t.Subscriptions {
		key := id + "\x00" + s.Protocol + ":" + s.Endpoint
		n.mu.Lock()
		done := n.delivered[key]
		n.mu.Unlock()
		if done {
			continue
		}
		res := DeliveryResult{Topic: t.Name, Endpoint: s.Protocol + ":" + s.Endpoint}
		wait := n.backoff
		for attempt := 0; attempt <= n.retries; attempt++ {
			if attempt > 0 {
				if err := n.sleep(ctx, wait); err != nil {
					res.Err = err
					break
				}
				wait *= 2
			}
			res.Attempts++
			res.Err = n.deliver(ctx, s, note, body)
			if res.Err == nil {
				break
			}
			if n.log != nil {
				n.log.Warn("notification delivery failed", "topic", t.Name, "endpoint", res.Endpoint,
					"attempt", res.Attempts, "error", res.Err)
			}
		}
		if res.Err == nil {
			n.mu.Lock()
			n.delivered[key] = true
			n.mu.Unlock()
		}
		out = append(out, res)
	}
	return out
}

func (n *Notifier) deliver(ctx context.Context, s Subscription, note Notification, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	switch s.Protocol {
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Endpoint, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "text/plain; charset=UTF-8")
		req.Header.Set("x-amz-sns-message-type", note.Type)
		req.Header.Set("x-amz-sns-message-id", note.MessageID)
		req.Header.Set("x-amz-sns-topic-arn", note.TopicArn)
		req.Header.Set("User-Agent", "Amazon Simple Notification Service Agent")
		resp, err := n.client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return fmt.Errorf("%s answered %s", s.Endpoint, resp.Status)
		}
		return nil
	case "command":
		args := strings.Fields(s.Endpoint)
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Stdin = bytes.NewReader(body)
		cmd.Env = append(os.Environ(), "SNS_TOPIC_ARN="+note.TopicArn, "SNS_MESSAGE_ID="+note.MessageID,
			"SNS_SUBJECT="+note.Subject)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("command %s: %w: %s", args[0], err, strings.TrimSpace(string(out)))
		}
		return nil
	case "file":
		f, err := os.OpenFile(s.Endpoint, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		_, err = f.Write(append(body, '\n'))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
	return fmt.Errorf("unsupported protocol %q", s.Protocol)
}

// regionNames are the display names CloudWatch puts in alarm subjects.
var regionNames = map[string]string{
	"us-east-1": "US East (N. Virginia)", "us-east-2": "US East (Ohio)",
	"us-west-1": "US West (N. California)", "us-west-2": "US West (Oregon)",
	"eu-west-1": "EU (Ireland)", "eu-central-1": "EU (Frankfurt)",
	"ap-northeast-2": "Asia Pacific (Seoul)", "ap-northeast-1": "Asia Pacific (Tokyo)",
	"ap-southeast-1": "Asia Pacific (Singapore)", "ap-south-1": "Asia Pacific (Mumbai)",
}

func regionName(r string) string {
	if n, ok := regionNames[r]; ok {
		return n
	}
	return r
}
