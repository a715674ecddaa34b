package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// NATSDir holds the embedded NATS server's JetStream storage under the
// data directory (hidden, like the spools: it is not a bucket).
const NATSDir = ".nats"

// NATSConfig says where kinesis-data-firehose flow logs publish: NATS
// JetStream, one stream per delivery stream (publish/stream). Set URL or
// Embedded; with neither, CreateFlowLogs refuses kinesis-data-firehose
// and such flow logs already in the data directory report FAILED.
type NATSConfig struct {
	// URL of an external NATS server with JetStream enabled
	// (nats-server -js), e.g. nats://127.0.0.1:4222; several URLs of one
	// cluster are separated by commas.
	URL string `yaml:"url"`
	// Embedded starts a nats-server inside vpcflow on 127.0.0.1 with
	// JetStream, its storage in <data>/.nats; it stops after the last
	// record is published at shutdown.
	Embedded bool `yaml:"embedded"`
	// Port of the embedded server on 127.0.0.1 (0: a free port, logged at
	// start). Consumers connect there.
	Port int `yaml:"port"`
}

func (c NATSConfig) validate() []error {
	var errs []error
	if c.URL != "" && c.Embedded {
		errs = append(errs, errors.New("nats: set url (an external server) or embedded: true, not both"))
	}
	if c.Port != 0 && !c.Embedded {
		errs = append(errs, fmt.Errorf("nats.port %d: only for the embedded server (embedded: true)", c.Port))
	}
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("nats.port %d: want 0 (any free port) to 65535", c.Port))
	}
	if c.URL != "" {
		for u := range strings.SplitSeq(c.URL, ",") {
			p, err := url.Parse(strings.TrimSpace(u))
			if err != nil || p.Host == "" || (p.Scheme != "nats" && p.Scheme != "tls" && p.Scheme != "ws" && p.Scheme != "wss") {
				errs = append(errs, fmt.Errorf("nats.url %q: want nats://host:port (or tls://, ws://, wss://)", u))
			}
		}
	}
	return errs
}

// startNATS returns the URL flow logs publish to: the external server's,
// or that of an embedded server it starts (stop shuts it down), or "".
func startNATS(c NATSConfig, dataDir string, log *slog.Logger) (natsURL string, stop func(), err error) {
	if !c.Embedded {
		return c.URL, func() {}, nil
	}
	port := c.Port
	if port == 0 {
		port = -1 // nats-server's "any free port"; 0 would mean 4222
	}
	s, err := natsserver.NewServer(&natsserver.Options{
		ServerName: "vpcflow", Host: "127.0.0.1", Port: port,
		JetStream: true, StoreDir: filepath.Join(dataDir, NATSDir),
		NoSigs: true,
	})
	if err != nil {
		return "", nil, fmt.Errorf("embedded nats server: %w", err)
	}
	s.SetLoggerV2(natsLogger{log.With("component", "nats-server")}, false, false, false)
	go s.Start()
	if !s.ReadyForConnections(30 * time.Second) {
		s.Shutdown()
		return "", nil, fmt.Errorf("embedded nats server on 127.0.0.1:%d did not start (is the port in use?)", c.Port)
	}
	natsURL = s.ClientURL()
	log.Info("embedded NATS JetStream server for kinesis-data-firehose flow logs", "nats_url", natsURL, "store", filepath.Join(dataDir, NATSDir))
	return natsURL, func() {
		s.Shutdown()
		s.WaitForShutdown()
	}, nil
}

// natsLogger sends the embedded server's log to slog; its notices (start,
// listening, JetStream limits) are debug detail here.
type natsLogger struct{ log *slog.Logger }

func (l natsLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l natsLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l natsLogger) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l natsLogger) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l natsLogger) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l natsLogger) Tracef(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
