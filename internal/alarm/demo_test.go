package alarm_test

import (
	"path/filepath"
	"testing"
	"time"

	"vpcflow/internal/alarm"
	"vpcflow/internal/demo"
	"vpcflow/internal/logstore"
	"vpcflow/internal/traffic"
	"vpcflow/internal/vpc"
)

// The seed architecture "a metric filter on SSH/RDP with an alarm to SNS"
// on the demo: the bundled scenario from 02:30 to 04:00 (its workloads and
// the SSH brute force on the bastion at 03:00-03:30) runs through the
// pipeline into the log store, and the alarms `vpcflow serve` bundles
// (internal/server/alarms.yaml) are evaluated over it as CloudWatch would
// have: ssh-rdp-brute-force goes to ALARM at the end of the attack's first
// period and back to OK after it, and the office's SSH sessions alone never
// fire it.
func TestDemoSSHBruteForceFiresAlarm(t *testing.T) {
	topo, err := vpc.Load(demo.TopologyYAML, "three-tier.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := traffic.DecodeDocument(demo.ScenarioYAML, "scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	from := 2*time.Hour + 30*time.Minute
	var incidents []traffic.IncidentDoc
	for _, in := range doc.Incident {
		if in.Name == "ssh-brute-force" {
			st, err := time.ParseDuration(in.Start)
			if err != nil {
				t.Fatal(err)
			}
			in.Start = (st - from).String()
			incidents = append(incidents, in)
		}
	}
	if len(incidents) != 1 {
		t.Fatalf("the bundled scenario has no ssh-brute-force incident: %+v", doc.Incident)
	}
	doc.Incident = incidents
	start, err := time.Parse(time.RFC3339, doc.Start)
	if err != nil {
		t.Fatal(err)
	}
	doc.Start = start.Add(from).Format(time.RFC3339)
	doc.Duration = (90 * time.Minute).String()
	sc, err := traffic.Compile(doc, topo, nil, "scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "data")
	if err := demo.PrepareDataDir(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.RunScenario(t.Context(), sc, topo, demo.RunOptions{DataDir: dir}); err != nil {
		t.Fatal(err)
	}

	cfg, err := alarm.LoadConfig("../server/alarms.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Topics = nil // no notification targets in a test
	for i := range cfg.Alarms {
		cfg.Alarms[i].AlarmActions, cfg.Alarms[i].OKActions = nil, nil
	}
	eng, err := alarm.New(cfg, alarm.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := logstore.Open(logstore.Config{Dir: filepath.Join(dir, demo.LogStoreDir), NoSync: true}, logstore.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	trs, err := eng.EvaluateStored(t.Context(), st, logstore.Query{})
	if err != nil {
		t.Fatal(err)
	}
	attack := start.Add(3 * time.Hour)
	var fired, cleared time.Time
	for _, tr := range trs {
		if tr.AlarmName != "ssh-rdp-brute-force" {
			continue
		}
		switch tr.NewState {
		case alarm.StateAlarm:
			if !fired.IsZero() {
				t.Errorf("fired twice: %s", tr.Timestamp)
			}
			fired = tr.Timestamp
		case alarm.StateOK:
			if !fired.IsZero() {
				cleared = tr.Timestamp
			}
		}
	}
	if fired.IsZero() {
		t.Fatalf("ssh-rdp-brute-force never went to ALARM; transitions: %+v", trs)
	}
	// The first period of the attack (03:00 plus one period) is evaluated
	// at its end.
	var period time.Duration
	for _, a := range cfg.Alarms {
		if a.AlarmName == "ssh-rdp-brute-force" {
			period = time.Duration(a.Period) * time.Second
		}
	}
	if want := attack.Add(period); !fired.Equal(want) {
		t.Errorf("ALARM at %s, want %s", fired, want)
	}
	if cleared.IsZero() || cleared.Before(attack.Add(30*time.Minute)) {
		t.Errorf("back to OK at %v, want after the attack ends at %s", cleared, attack.Add(30*time.Minute))
	}
	events, matches := eng.Counts()
	if events == 0 || matches == 0 {
		t.Errorf("events %d, metric filter matches %d", events, matches)
	}
}
