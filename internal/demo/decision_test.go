package demo

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"vpcflow/internal/flow"
	"vpcflow/internal/traffic"
	"vpcflow/internal/troubleshoot"
)

// TestDecisionFieldsFlowLog: a scenario flow log whose log_format asks for
// the vpcflow extension fields gets the deciding layer and rule of every
// REJECT from the pipeline (Open wires aggregate.DecisionFields), in text
// and Parquet objects alike. The bundled scenario's NACL return block: the
// database answers app-b's SYNs, and the database NACL drops the SYN-ACKs
// outbound; the ACCEPTed SYNs and NODATA windows carry "-".
func TestDecisionFieldsFlowLog(t *testing.T) {
	sc, topo := shortScenario(t, 6*time.Hour, 3*time.Minute, "app-b-reporting-to-db")
	const format = "${version} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${action} ${log-status} ${vpcflow-decision-layer} ${vpcflow-decision-rule}"
	vpcID := topo.VPCs[0].ID
	sc.FlowLogs = []traffic.FlowLogDoc{
		{Resource: vpcID, LogDestination: "arn:aws:s3:::decisions", LogFormat: format, MaxAggregationInterval: 60},
		{Resource: vpcID, LogDestination: "arn:aws:s3:::decisions-parquet", LogFormat: format, MaxAggregationInterval: 60, FileFormat: "parquet"},
	}
	dir, _ := runShort(t, sc, topo)
	var texts [][]string
	for _, bucket := range []string{"decisions", "decisions-parquet"} {
		d, err := troubleshoot.ReadDir(filepath.Join(dir, bucket))
		if err != nil {
			t.Fatal(err)
		}
		if d.Files == 0 || d.Format.String() != format {
			t.Fatalf("%s: %d objects in format %q, want %q", bucket, d.Files, d.Format.String(), format)
		}
		var rejects, accepts int
		var lines []string
		for i := range d.Records {
			r := &d.Records[i]
			lines = append(lines, flow.Text(d.Format, r))
			layer, rule := r.String(flow.FieldDecisionLayer), r.String(flow.FieldDecisionRule)
			switch {
			case r.Action == flow.ActionReject:
				rejects++
				if r.InterfaceID != "eni-0d0a00000000000e1" || r.SrcPort != 5432 || layer != "nacl" || rule != "acl-0d00000000000000b/egress/*" {
					t.Errorf("%s: REJECT %q, want the database NACL's final egress rule on the RDS interface", bucket, lines[len(lines)-1])
				}
			case r.Has(flow.FieldDecisionLayer) || r.Has(flow.FieldDecisionRule):
				t.Errorf("%s: %q has decision fields", bucket, lines[len(lines)-1])
			case r.Action == flow.ActionAccept:
				accepts++
			}
		}
		if rejects == 0 || accepts == 0 {
			t.Errorf("%s: %d REJECT and %d ACCEPT records, want both", bucket, rejects, accepts)
		}
		slices.Sort(lines)
		texts = append(texts, lines)
	}
	if !slices.Equal(texts[0], texts[1]) {
		t.Errorf("text and Parquet objects differ:\n%q\n%q", texts[0], texts[1])
	}
}
