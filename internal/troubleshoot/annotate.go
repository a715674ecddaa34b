package troubleshoot

import (
	"fmt"
	"io"
	"strings"

	"vpcflow/internal/flow"
	"vpcflow/internal/vpc"
)

// Sidecar field names for the deciding layer and rule of each record. They
// are vpcflow extras: never part of the default format, and written only by
// `vpcflow diagnose --output annotated`, after the AWS fields.
const (
	FieldDecisionLayer = "vpcflow-decision-layer"
	FieldDecisionRule  = "vpcflow-decision-rule"
)

// Annotation is the deciding layer and rule of one record, as tokens
// without spaces: Layer is "sg", "nacl", "nacl-or-sg" (no topology) or "-";
// Rule is "acl-0abc/egress/100", "acl-0abc/ingress/*",
// "sg-0def/ingress/no-rule" or "-".
type Annotation struct {
	Layer string
	Rule  string
}

var noAnnotation = Annotation{"-", "-"}

func decisionToken(d Decision) string {
	switch d.Layer {
	case "nacl":
		n := fmt.Sprint(d.RuleNumber)
		if d.RuleNumber == DefaultRuleNumber {
			n = "*"
		}
		return fmt.Sprintf("%s/%s/%s", d.ResourceID, d.Direction, n)
	case "sg":
		return fmt.Sprintf("%s/%s/no-rule", strings.ReplaceAll(d.ResourceID, " ", ""), d.Direction)
	}
	if d.ResourceID != "" {
		return d.Layer + "/" + d.ResourceID
	}
	return "-"
}

// Annotate returns one annotation per record (same index): for REJECT
// records the layer and rule that decided, from the topology when given
// (replayed through the policy engine), else the seed rule's suspect.
// ACCEPT, NODATA and SKIPDATA records get "-".
func Annotate(records []flow.Record, t *vpc.Topology) []Annotation {
	out := make([]Annotation, len(records))
	for i := range out {
		out[i] = noAnnotation
	}
	a := &analysis{opts: Options{Topology: t}, recs: records}
	for i := range records {
		if usable(&records[i]) {
			a.idx = append(a.idx, i)
		}
	}
	a.own = ownAddresses(records, a.idx, a.knownAddr)
	a.convs = buildConversations(records, a.idx, a.own)
	var ev *evaluator
	if t != nil {
		ev = &evaluator{t: t}
	}
	type legKey struct {
		eni     string
		request bool
		egress  bool
		conv    *Conversation
	}
	cache := map[legKey]Annotation{}
	for _, c := range a.convs {
		req := requestPacket(c)
		for _, i := range c.records {
			r := &records[i]
			if r.Action != flow.ActionReject {
				continue
			}
			src, _ := endpoints(r)
			k := legKey{r.InterfaceID, src.addr == c.Client, egress(r, a.own[r.InterfaceID]), c}
			if ann, ok := cache[k]; ok {
				out[i] = ann
				continue
			}
			ann := noAnnotation
			var rule Rule
			switch {
			case k.request && !k.egress:
				rule = Classify(Incoming, SeenReject, NotSeen)
			case k.request:
				rule = Classify(Outgoing, SeenReject, NotSeen)
			case k.egress:
				rule = Classify(Incoming, NotSeen, SeenReject)
			default:
				rule = Classify(Outgoing, NotSeen, SeenReject)
			}
			ann.Layer = string(rule.Suspect)
			if ev != nil {
				if e := t.Interface(r.InterfaceID); e != nil {
					var ds []Decision
					switch {
					case k.request && !k.egress:
						ds = ev.inbound(e, req, false)
					case k.request:
						ds = ev.outbound(e, req, false)
					case k.egress:
						ds = ev.outbound(e, req.reverse(), true)
					default:
						ds = ev.inbound(e, req.reverse(), true)
					}
					if d, ok := verdict(ds); ok && !d.Allowed {
						ann = Annotation{Layer: d.Layer, Rule: decisionToken(d)}
					}
				}
			}
			cache[k] = ann
			out[i] = ann
		}
	}
	return out
}

// WriteAnnotated writes records in format f with the two sidecar fields
// appended, after a header line naming every field.
func WriteAnnotated(w io.Writer, f flow.Format, records []flow.Record, anns []Annotation) error {
	p := &errWriter{w: w}
	p.printf("%s %s %s\n", f.Header(), FieldDecisionLayer, FieldDecisionRule)
	var buf []byte
	for i := range records {
		buf = flow.AppendText(buf[:0], f, &records[i])
		ann := noAnnotation
		if i < len(anns) {
			ann = anns[i]
		}
		buf = append(buf, ' ')
		buf = append(buf, ann.Layer...)
		buf = append(buf, ' ')
		buf = append(buf, ann.Rule...)
		buf = append(buf, '\n')
		if p.err == nil {
			_, p.err = w.Write(buf)
		}
	}
	return p.err
}
