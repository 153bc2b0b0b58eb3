// Validates every custom resource in a `kustomize build` output against the operator's own CRD schema, as
// packaged by kubernetes-models (generated from the upstream CRDs of Strimzi, CloudNativePG and the Prometheus
// Operator). Built-in kinds are left to kubernetes-validate (Makefile, test-k8s). A custom resource of a group
// this script does not know fails: nothing in an overlay goes unvalidated.
//
//   node validate.mjs built.yaml
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import * as strimzi from "@kubernetes-models/strimzi-kafka-operator";
import * as cnpg from "@kubernetes-models/cloudnative-pg";
import * as prometheus from "@kubernetes-models/prometheus-operator";

const models = {
  "kafka.strimzi.io": strimzi,
  "postgresql.cnpg.io": cnpg,
  "monitoring.coreos.com": prometheus,
};

function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.split("/");
  const pkg = models[group];
  if (!pkg) return null;
  // one namespace per API group, camel-cased: "kafka.strimzi.io" -> kafkaStrimziIo.v1beta2.KafkaTopic
  const ns = group.split(".").map((part, i) => i ? part[0].toUpperCase() + part.slice(1) : part).join("");
  return pkg[ns]?.[version]?.[kind] ?? null;
}

const file = process.argv[2];
let checked = 0, failed = 0, builtin = 0;
for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
  const obj = doc.toJS();
  if (!obj) continue;
  const group = obj.apiVersion.includes("/") ? obj.apiVersion.split("/")[0] : "";
  if (!group.includes(".") || group.endsWith(".k8s.io")) { builtin++; continue; }
  const Model = modelFor(obj.apiVersion, obj.kind);
  const where = `${obj.kind}/${obj.metadata?.name}`;
  if (!Model) { console.error(`${where}: no schema known for ${obj.apiVersion} ${obj.kind}`); failed++; continue; }
  try {
    new Model(obj).validate();
    checked++;
  } catch (err) {
    failed++;
    console.error(`${where}: ${err.message}`);
  }
}
console.log(`${file}: ${checked} custom resources valid against the operators' CRD schemas` +
            (failed ? `, ${failed} INVALID` : "") + ` (${builtin} built-in left to kubernetes-validate)`);
process.exit(failed ? 1 : 0);
