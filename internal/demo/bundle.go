package demo

import (
	_ "embed"
	"fmt"

	"vpcflow/internal/traffic"
	"vpcflow/internal/vpc"
)

// The bundled three-tier VPC and the scenario of `vpcflow demo`.
var (
	//go:embed three-tier.yaml
	TopologyYAML []byte
	//go:embed scenario.yaml
	ScenarioYAML []byte
)

// Bundled loads the bundled topology and scenario.
func Bundled() (*traffic.Scenario, *vpc.Topology, error) {
	topo, err := vpc.Load(TopologyYAML, "three-tier.yaml (bundled)")
	if err != nil {
		return nil, nil, fmt.Errorf("bundled topology: %w", err)
	}
	doc, err := traffic.DecodeDocument(ScenarioYAML, "scenario.yaml (bundled)")
	if err != nil {
		return nil, nil, err
	}
	sc, err := traffic.Compile(doc, topo, ScenarioYAML, "scenario.yaml (bundled)")
	if err != nil {
		return nil, nil, err
	}
	return sc, topo, nil
}
