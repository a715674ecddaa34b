package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"vpcflow/internal/troubleshoot"
	"vpcflow/internal/vpc"
)

// newWhatIfCmd is `vpcflow whatif`: replay recorded flows against a
// proposed security group / network ACL change, or generate least-privilege
// security group rules from what was accepted.
func newWhatIfCmd() *cobra.Command {
	var (
		data, topoFile, patchFile, eni, output string
		least                                  bool
	)
	cmd := &cobra.Command{
		Use:   "whatif --data DIR --topology FILE (--patch FILE | --least-privilege)",
		Short: "Replay recorded flows against a proposed SG/NACL change, or suggest least-privilege SG rules",
		Long: `--patch FILE applies a YAML patch to the topology and replays every recorded
conversation leg before and after it: which ACCEPTed flows would be REJECTed
and which REJECTed flows would be ACCEPTed. The patch format:

  security_groups:
    - id: sg-0123
      authorize_ingress: [{protocol: tcp, ports: 22, cidr: 203.0.113.12/32}]
      revoke_ingress:    [{protocol: tcp, ports: 22, cidr: 0.0.0.0/0}]
      authorize_egress: [...]
      revoke_egress: [...]
  network_acls:
    - id: acl-0123
      ingress: [{rule: 90, protocol: tcp, ports: 1024-65535, cidr: 10.0.20.0/24, action: allow}]
      egress: [...]          # created, or replaced when the rule number exists
      delete_ingress: [120]
      delete_egress: [...]

diagnose --output json prints such a patch as the fix of each blocked
conversation.

--least-privilege prints security group rules generated from the ACCEPTed
requests (responses need none: security groups are stateful), and the
current rules that no accepted request used.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if data == "" || topoFile == "" {
				return fmt.Errorf("--data and --topology are required")
			}
			if (patchFile == "") == !least {
				return fmt.Errorf("give exactly one of --patch or --least-privilege")
			}
			d, err := troubleshoot.ReadDir(data)
			if err != nil {
				return err
			}
			warn(cmd.ErrOrStderr(), d.Warnings)
			before, err := vpc.LoadFile(topoFile)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if least {
				gs := troubleshoot.LeastPrivilege(d.Records, before)
				if output == "json" {
					enc := json.NewEncoder(out)
					enc.SetIndent("", "  ")
					return enc.Encode(gs)
				}
				b, err := troubleshoot.MarshalSuggestions(gs)
				if err != nil {
					return err
				}
				_, err = out.Write(b)
				return err
			}
			patch, err := troubleshoot.LoadPatch(patchFile)
			if err != nil {
				return err
			}
			after, err := vpc.LoadFile(topoFile)
			if err != nil {
				return err
			}
			if err := patch.Apply(after); err != nil {
				return fmt.Errorf("apply %s: %w", patchFile, err)
			}
			res := troubleshoot.WhatIf(d.Records, before, after, troubleshoot.Options{Interface: eni})
			switch output {
			case "text":
				return res.WriteText(out)
			case "json":
				return res.WriteJSON(out)
			}
			return fmt.Errorf("--output %q: want text or json", output)
		},
	}
	f := cmd.Flags()
	f.StringVar(&data, "data", "", "directory (or file) of flow log objects: a data directory, a bucket in it, or downloaded S3 objects")
	f.StringVar(&topoFile, "topology", "", "topology YAML the records were produced with")
	f.StringVar(&patchFile, "patch", "", "YAML patch of security group and network ACL changes")
	f.BoolVar(&least, "least-privilege", false, "suggest security group rules from the accepted flows instead")
	f.StringVar(&eni, "eni", "", "only legs logged on this network interface")
	f.StringVarP(&output, "output", "o", "text", "text or json (least-privilege: yaml or json)")
	return cmd
}
