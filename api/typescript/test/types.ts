// Compile-time checks (`npm run typecheck`, part of `npm test`): the client
// is typed by openapi.yaml. Never run; a type error fails the test.
import { ApiError, createClient, unwrap, verifyWebhook, type Problem, type Schemas, type WebhookEvent } from "@leadpilot/sdk";

async function usage(): Promise<void> {
  const client = createClient({ baseUrl: "http://localhost:8080", token: "lp_x" });

  const refreshing = createClient({ baseUrl: "http://localhost:8080", token: async () => "access token" });
  void refreshing;

  const { data, error } = await client.GET("/v1/leads", { params: { query: { limit: 10, status: "new" } } });
  if (data) {
    const lead: Schemas["Lead"] | undefined = data.data[0];
    void lead;
  }
  if (error) {
    const p: Problem = error;
    const code: string = p.code;
    void code;
  }

  const created: Schemas["Lead"] = await unwrap(client.POST("/v1/leads", { body: { email: "a@example.com" } }));
  void created;

  // @ts-expect-error: no such path in the contract
  await client.GET("/v1/nope");
  // @ts-expect-error: status is an enum
  await client.GET("/v1/leads", { params: { query: { status: "bogus" } } });
  // @ts-expect-error: the body needs its required fields
  await client.POST("/v1/auth/signup", { body: { email: "a@example.com" } });

  try {
    await unwrap(client.GET("/v1/me"));
  } catch (e) {
    if (e instanceof ApiError) {
      const s: number = e.status;
      const fields: string[] = e.errors.map((f) => f.field);
      void s, fields;
    }
  }

  const event: WebhookEvent<Schemas["Lead"]> = verifyWebhook<Schemas["Lead"]>("whsec_AAAA", new Headers(), "{}", { tolerance: 60, now: new Date() });
  const email: string | null | undefined = event.data.email;
  void email;
}
void usage;
