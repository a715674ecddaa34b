package api

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Params are the EC2 Query API parameters of one request.
type Params url.Values

// Get returns one parameter.
func (p Params) Get(name string) string { return url.Values(p).Get(name) }

// Has reports whether the parameter was sent.
func (p Params) Has(name string) bool { return url.Values(p).Has(name) }

// List returns the members of a query list `Name.1`, `Name.2`, … in index
// order.
func (p Params) List(name string) []string {
	type item struct {
		i int
		v string
	}
	var items []item
	prefix := name + "."
	for k, vs := range p {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		i, err := strconv.Atoi(rest)
		if err != nil || len(vs) == 0 {
			continue
		}
		items = append(items, item{i, vs[0]})
	}
	sort.Slice(items, func(a, b int) bool { return items[a].i < items[b].i })
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.v
	}
	return out
}

// Indexes returns the distinct N of parameters named `prefix.N.…`, sorted.
func (p Params) Indexes(prefix string) []int {
	seen := map[int]bool{}
	for k := range p {
		rest, ok := strings.CutPrefix(k, prefix+".")
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		if i, err := strconv.Atoi(num); err == nil {
			seen[i] = true
		}
	}
	out := make([]int, 0, len(seen))
	for i := range seen {
		out = append(out, i)
	}
	sort.Ints(out)
	return out
}

// Filter is one `Filter.N` of a Describe call.
type Filter struct {
	Name   string
	Values []string
}

// Filters returns the request's `Filter.N.Name` / `Filter.N.Value.M`.
func (p Params) Filters() []Filter {
	var out []Filter
	for _, i := range p.Indexes("Filter") {
		base := fmt.Sprintf("Filter.%d", i)
		out = append(out, Filter{Name: p.Get(base + ".Name"), Values: p.List(base + ".Value")})
	}
	return out
}

// Int returns an integer parameter, def when absent.
// Bool returns a boolean parameter: absent is false, and anything but true
// or false (any case) is an error, not false (DryRun=maybe must not act).
func (p Params) Bool(name string) (bool, error) {
	switch v := p.Get(name); {
	case v == "" || strings.EqualFold(v, "false"):
		return false, nil
	case strings.EqualFold(v, "true"):
		return true, nil
	default:
		return false, errInvalidParameter(fmt.Sprintf("Value (%s) for parameter %s is invalid. Expected true or false.", v, name))
	}
}

// Bools is Bool of each name, in order; the first error wins.
func (p Params) Bools(names ...string) ([]bool, error) {
	out := make([]bool, len(names))
	for i, n := range names {
		v, err := p.Bool(n)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (p Params) Int(name string, def int) (int, error) {
	v := p.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, errInvalidParameter(fmt.Sprintf("Value (%s) for parameter %s is invalid. Expected an integer.", v, name))
	}
	return n, nil
}

// Tags returns `TagSpecification.N.Tag.M.Key/Value` for the given resource
// type (or all when resourceType is "").
func (p Params) Tags(resourceType string) map[string]string {
	tags := map[string]string{}
	for _, i := range p.Indexes("TagSpecification") {
		base := fmt.Sprintf("TagSpecification.%d", i)
		if rt := p.Get(base + ".ResourceType"); resourceType != "" && rt != "" && rt != resourceType {
			continue
		}
		for _, j := range p.Indexes(base + ".Tag") {
			tb := fmt.Sprintf("%s.Tag.%d", base, j)
			tags[p.Get(tb+".Key")] = p.Get(tb + ".Value")
		}
	}
	return tags
}

// RequestID returns the request id the server assigned, for response bodies.
func RequestID(r *http.Request) string { return requestID(r.Context()) }

// EC2Namespace is the xmlns of EC2 Query API responses.
const EC2Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"
