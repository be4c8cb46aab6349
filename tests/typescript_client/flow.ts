// The expense flow through types that openapi-typescript generated from /api/schema/ (schema.d.ts,
// written next to this file in a temporary folder) and openapi-fetch. `tsc --noEmit` proves the
// schema gives a TypeScript client what it needs; `node` then runs it against a live portal.
// Usage: node out/flow.js http://127.0.0.1:8000
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Problem = components["schemas"]["Problem"];
type ValidationProblem = components["schemas"]["ValidationProblem"];
type WorkItemStatus = components["schemas"]["WorkItemStatusEnum"];

declare const process: { argv: string[]; exitCode?: number };
const baseUrl = process.argv[2] ?? "http://127.0.0.1:8000";

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

async function logIn(username: string) {
  const anonymous = createClient<paths>({ baseUrl });
  const { data, error } = await anonymous.POST("/api/auth/token/", {
    body: { username, password: `${username}-pass` },
  });
  check(data !== undefined, `no token for ${username}: ${JSON.stringify(error)}`);
  return createClient<paths>({ baseUrl, headers: { Authorization: `Token ${data.token}` } });
}

async function main(): Promise<void> {
  const [dave, bob, carol] = await Promise.all([logIn("dave"), logIn("bob"), logIn("carol")]);
  for (const agent of [bob, carol]) {
    const { data } = await agent.PUT("/api/me/presence/", { body: { status: "available" } });
    check(data?.presence.status === "available", "presence not set");
  }

  const launched = await dave.POST("/api/processes/{name}/launch/", {
    params: { path: { name: "Expense Approval" } },
    body: { inputs: { employee: "dave", amount: 250 } },
  });
  const started = launched.data;
  check(started !== undefined, `launch refused: ${JSON.stringify(launched.error)}`);
  check(started.state === "Approval" && started.status === "waiting", `launched into ${started.state}`);

  const list = await bob.GET("/api/workitems/", {});
  const offered = list.data?.results.find((item) => item.instance === started.id);
  check(offered !== undefined && offered.name === "Approve Expense", "bob has no Approve Expense item");
  const offeredStatus: WorkItemStatus = offered.status;
  check(offeredStatus === "offered", `item is ${offeredStatus}`);

  const path = { params: { path: { id: offered.id } } };
  const form = await bob.POST("/api/workitems/{id}/pickup/", path);
  check(form.data?.status === "processing", "pickup failed");
  check(form.data.buttons.some((button) => button.id === "approve"), "no approve button");
  check(form.data.fields.some((field) => field.variable === "comment"), "no comment field");

  const done = await bob.POST("/api/workitems/{id}/complete/", {
    ...path,
    body: { button: "approve", values: { comment: "fine" } },
  });
  check(done.data?.status === "completed", `completion refused: ${JSON.stringify(done.error)}`);

  const payroll = await carol.GET("/api/workitems/", { params: { query: { status: ["offered", "queued"] } } });
  const payOut = payroll.data?.results.filter((item) => item.instance === started.id).map((item) => item.name);
  check(JSON.stringify(payOut) === JSON.stringify(["Pay Out"]), `Payroll sees ${JSON.stringify(payOut)}`);

  const read = await dave.GET("/api/instances/{id}/", { params: { path: { id: started.id } } });
  check(read.data?.state === "Payment" && read.data.variables["comment"] === "fine", "instance not in Payment");
  check(read.data.history.length > 0, "no history");

  const again = await bob.POST("/api/workitems/{id}/complete/", { ...path, body: { button: "approve" } });
  const conflict: Problem | ValidationProblem | undefined = again.error;
  check(again.response.status === 409 && conflict?.status === 409, "a second completion was not a 409");

  const refused = await dave.POST("/api/instances/{id}/cancel/", { params: { path: { id: started.id } } });
  const forbidden: Problem | undefined = refused.error;
  check(refused.response.status === 403 && forbidden?.detail.includes("Manage") === true, "cancel was not a 403");

  console.log(`TypeScript client: instance ${started.id} ran to Payment; 409 and 403 arrived as Problem`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
