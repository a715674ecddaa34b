package troubleshoot

import (
	"io"

	"vpcflow/internal/flow"
	"vpcflow/internal/policy"
	"vpcflow/internal/vpc"
)

// Sidecar field names for the deciding layer and rule of each record: the
// flow registry's vpcflow extension fields (flow.FieldDecisionLayer,
// flow.FieldDecisionRule), never part of the default format. The simulator
// writes them into flow logs that ask; `vpcflow diagnose --output
// annotated` writes them for any records.
const (
	FieldDecisionLayer = "vpcflow-decision-layer"
	FieldDecisionRule  = "vpcflow-decision-rule"
)

// Annotation is the deciding layer and rule of one record, as tokens
// without spaces: Layer is "sg", "nacl", "nacl-or-sg" (no topology) or "-";
// Rule is policy.Decision.RuleToken's encoding ("acl-0abc/egress/100",
// "acl-0abc/ingress/*", "sg-0def/ingress/no-rule") or "-".
type Annotation struct {
	Layer string
	Rule  string
}

var noAnnotation = Annotation{"-", "-"}

func decisionToken(d Decision) string {
	verdict := flow.ActionReject
	if d.Allowed {
		verdict = flow.ActionAccept
	}
	return policy.Decision{Verdict: verdict, Layer: d.Layer, ResourceID: d.ResourceID, Direction: d.Direction,
		RuleNumber: d.RuleNumber}.RuleToken()
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

// AnnotatedFormat is an output format for annotated records: a flow log
// format that may hold the vpcflow extension fields.
type AnnotatedFormat struct {
	f flow.Format
}

// Format returns the flow log format of the annotated output.
func (af AnnotatedFormat) Format() flow.Format { return af.f }

// AppendDecision returns f with both vpcflow fields appended (those it does
// not have yet): the default annotated output.
func AppendDecision(f flow.Format) AnnotatedFormat {
	ids := append([]flow.FieldID(nil), f.Fields()...)
	for _, id := range []flow.FieldID{flow.FieldDecisionLayer, flow.FieldDecisionRule} {
		if !f.Contains(id) {
			ids = append(ids, id)
		}
	}
	return AnnotatedFormat{f: flow.MustFormat(ids...)}
}

// ParseAnnotatedFormat parses "${field} ${field} …" where a field is a flow
// log field, the two vpcflow fields included (flow.ParseFormat). Unlike a
// LogFormat, an empty string is an error, not the default. Errors name the
// offset.
func ParseAnnotatedFormat(s string) (AnnotatedFormat, error) {
	if s == "" {
		return AnnotatedFormat{}, &flow.FormatError{Msg: "expected ${field} separated by single spaces"}
	}
	f, err := flow.ParseFormat(s)
	if err != nil {
		return AnnotatedFormat{}, err
	}
	return AnnotatedFormat{f: f}, nil
}

// WriteAnnotated writes records in format f with the two sidecar fields
// appended, after a header line naming every field.
func WriteAnnotated(w io.Writer, f flow.Format, records []flow.Record, anns []Annotation) error {
	return WriteAnnotatedFormat(w, AppendDecision(f), records, anns)
}

// WriteAnnotatedFormat writes records in an annotated format, after a
// header line naming every field. A record that already carries the vpcflow
// fields (written by the simulator, which knew the decision) keeps them;
// the others get their annotation.
func WriteAnnotatedFormat(w io.Writer, af AnnotatedFormat, records []flow.Record, anns []Annotation) error {
	p := &errWriter{w: w}
	p.printf("%s\n", af.f.Header())
	var (
		buf   []byte
		rec   flow.Record
		other = new([flow.NumFields]string) // rec's extras, so records stay untouched
	)
	for i := range records {
		ann := noAnnotation
		if i < len(anns) {
			ann = anns[i]
		}
		rec = records[i]
		*other = [flow.NumFields]string{}
		if rec.Other != nil {
			*other = *rec.Other
		}
		rec.Other = other
		annotateField(&rec, flow.FieldDecisionLayer, ann.Layer)
		annotateField(&rec, flow.FieldDecisionRule, ann.Rule)
		buf = flow.AppendText(buf[:0], af.f, &rec)
		buf = append(buf, '\n')
		if p.err == nil {
			_, p.err = w.Write(buf)
		}
	}
	return p.err
}

func annotateField(r *flow.Record, id flow.FieldID, v string) {
	if r.Has(id) || v == "" || v == "-" {
		return
	}
	r.SetString(id, v)
}
