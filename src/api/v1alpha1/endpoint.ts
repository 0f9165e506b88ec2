// The spec of a ProvisionedThroughputEndpoint, with the admission rules (CEL) and their zod twins; its status and
// condition reasons are in endpoint-status.ts.
import { z } from 'zod';
import { ENDPOINT_NAME_PATTERN } from '../../databricks/api-types.js';
import { LocalObjectReference, duration } from './common.js';
import { settingsSpecFields, settingsSpecRules } from './endpoint-settings.js';
import { matches, re2Regex, type ValidationRule, withRules } from './rules.js';

export const ENDPOINT_KIND = 'ProvisionedThroughputEndpoint';
export const ENDPOINT_PLURAL = 'provisionedthroughputendpoints';

/** Annotations a user sets on a ProvisionedThroughputEndpoint. */
export const EndpointAnnotation = {
  /** "true": stop acting; Synced=False ReconcilePaused. */
  paused: 'ptoperator.io/paused',
  /** "true": allow taking over an existing endpoint this object did not create. */
  adopt: 'ptoperator.io/adopt',
  /** Any new value forces a reconcile and resets an exhausted capacity-retry budget. */
  requestedAt: 'ptoperator.io/requested-at',
  /** hold, promote or abort a canary rollout (as spec.canary.action). */
  canary: 'ptoperator.io/canary',
} as const;

/** Databricks' own endpoint-name rule, so a bad name fails at admission and not at create. */
export { ENDPOINT_NAME_PATTERN };
/**
 * A Unity Catalog object name: 1 to 255 characters, no period, space, slash, ASCII control character or DEL
 * (Databricks, "Unity Catalog requirements and limitations"). Unanchored.
 */
const UC_PART = '[^. /\\x00-\\x1F\\x7F]{1,255}';
export const MODEL_NAME_PATTERN = `^${UC_PART}[.]${UC_PART}[.]${UC_PART}$`;
export const MODEL_VERSION_PATTERN = '^[1-9][0-9]{0,8}$';
/** Tag keys the operator writes itself (ownership); users may not set them. */
export const OWNER_TAG_PREFIX = 'pt-operator-';
/**
 * Databricks documents no length limits for serving-endpoint tags; these conservative bounds (the strictest
 * cloud tag limits, which billing tags are propagated to) are named in docs/concepts.md.
 */
export const MAX_TAG_KEY_LENGTH = 127;
export const MAX_TAG_VALUE_LENGTH = 255;

const endpointNameRegex = re2Regex(ENDPOINT_NAME_PATTERN);

/**
 * Without spec.endpointName, metadata.name is the Databricks endpoint name, so it must fit Databricks' rule
 * too (no dots, at most 63 characters). Checked on create only (optionalOldSelf), so an object that already
 * exists can always be updated and deleted.
 */
export const endpointNameFromMetadataRule = {
  cel: `oldSelf.hasValue() || has(self.spec.endpointName) || self.metadata.name.matches(r'${ENDPOINT_NAME_PATTERN}')`,
  optionalOldSelf: true,
  message:
    'metadata.name is used as the Databricks endpoint name when spec.endpointName is not set, and Databricks allows at most 63 characters without dots: set spec.endpointName (it can be set when the object is created), or choose a shorter name without dots',
  check: (object: { metadata: { name: string }; spec: { endpointName?: string | undefined } }) =>
    object.spec.endpointName !== undefined || endpointNameRegex.test(object.metadata.name),
};

export const MAX_TOKENS_PER_SECOND = 2_147_483_647; // Databricks types these as int32.
export const MAX_MODEL_UNITS = 1_000_000;

const throughputBand = (unit: string) =>
  withRules(
    z.strictObject({
      min: z
        .int()
        .min(0)
        .max(MAX_TOKENS_PER_SECOND)
        .describe(`Lowest provisioned throughput in ${unit}. 0 lets the endpoint scale to zero.`),
      max: z
        .int()
        .min(1)
        .max(MAX_TOKENS_PER_SECOND)
        .describe(`Highest provisioned throughput in ${unit}; the endpoint scales automatically up to it.`),
    }),
    [{ cel: 'self.min <= self.max', message: 'min must be less than or equal to max', check: (b) => b.min <= b.max }],
  );

export const Throughput = withRules(
  z.strictObject({
    chunks: throughputBand('chunks (multiples of the model throughput_chunk_size)')
      .optional()
      .describe(
        "Throughput as multiples of the model's throughput chunk size, which the operator reads from Databricks (get-model-optimization-info). {min: 2, max: 3} with a chunk of 980 gives 1960-2940 tokens/s.",
      ),
    tokensPerSecond: throughputBand('tokens per second')
      .optional()
      .describe("Throughput in tokens per second. Both bounds must be multiples of the model's chunk size."),
    modelUnits: z
      .int()
      .min(1)
      .max(MAX_MODEL_UNITS)
      .optional()
      .describe("Provisioned model units, for model-unit models. Must be a multiple of the model's model-unit chunk size."),
  }),
  [
    {
      cel: '[has(self.chunks), has(self.tokensPerSecond), has(self.modelUnits)].filter(x, x).size() == 1',
      message: 'set exactly one of chunks, tokensPerSecond or modelUnits',
      check: (t) => [t.chunks, t.tokensPerSecond, t.modelUnits].filter((x) => x !== undefined).length === 1,
    },
  ],
).describe('How much throughput to provision: exactly one of chunks, tokensPerSecond or modelUnits.');
export type Throughput = z.infer<typeof Throughput>;

export const ModelRef = z
  .strictObject({
    name: withRules(z.string().max(767), [
      matches(
        MODEL_NAME_PATTERN,
        'must be a Unity Catalog name with three dot-separated parts: catalog.schema.model, each of 1 to 255 characters without spaces, slashes or control characters',
      ),
    ]).describe('Unity Catalog three-level model name, catalog.schema.model, e.g. system.ai.meta_llama_v3_1_8b_instruct.'),
    version: withRules(z.string().max(10), [
      matches(MODEL_VERSION_PATTERN, 'must be a positive integer written as a string, e.g. "3"'),
    ]).describe('Model version in Unity Catalog: a positive integer written as a string, e.g. "3".'),
  })
  .describe('The Unity Catalog model to serve.');

/**
 * The field holds a duration CEL's duration() surely reads: parts of at most 5 digits, so at most 32 characters stay
 * under MAX_DURATION. Any other value gets only its field's own message (format, MAX_DURATION), not a conversion error
 * here; the rare valid one (120000ms) is still checked at reconcile. has(): the API server also checks the rules
 * against the default {} (the fields' own defaults not applied).
 */
const READABLE_DURATION_PATTERN = '^(0|([0-9]{1,5}([.][0-9]+)?(ms|s|m|h))+)$';
const celDuration = (field: string) => `has(self.${field}) && self.${field}.matches(r'${READABLE_DURATION_PATTERN}')`;

/**
 * Admission only (no zod twin): preflight.ts checks the same at reconcile, so an object stored before these rules
 * existed still reads, reconciles and is deleted as before. 1ms, not 0: the operator counts in whole milliseconds.
 */
const capacityRetryRules: ValidationRule<unknown>[] = [
  {
    cel: `!(${celDuration('initialBackoff')}) || duration(self.initialBackoff) >= duration('1ms')`,
    message: 'capacityRetry.initialBackoff must be at least 1ms, e.g. 30s (0 would retry without pause)',
    fieldPath: '.initialBackoff',
  },
  {
    cel: `!(${celDuration('initialBackoff')}) || !(${celDuration('maxBackoff')}) || duration(self.maxBackoff) >= duration(self.initialBackoff)`,
    message: 'capacityRetry.maxBackoff must be at least capacityRetry.initialBackoff (initialBackoff defaults to 2m, maxBackoff to 30m)',
    fieldPath: '.maxBackoff',
  },
];

export const CapacityRetry = withRules(
  z.strictObject({
    initialBackoff: duration('Wait before the first retry after a GPU-capacity failure. At least 1ms.', '2m'),
    maxBackoff: duration('Upper bound of the exponential backoff between capacity retries. At least initialBackoff.', '30m'),
    timeout: duration(
      'Retry budget of the served config (model and throughput), counted from its first capacity failure; then Synced=False CapacityRetriesExhausted until the served config or the requested-at annotation changes, or this timeout is raised (an edit of tags or settings alone neither retries nor starts a new budget; a timeout changed while retries go on applies to them, counted from the first failure). 0 means no limit.',
      '6h',
    ),
  }),
  capacityRetryRules,
).describe(
  'Retries of rollouts that fail for lack of GPU capacity (they time out or are aborted on the Databricks side). The operator re-issues the desired config with jittered exponential backoff; it never deletes the endpoint to retry.',
);
export type CapacityRetry = z.infer<typeof CapacityRetry>;

/** The longest schedule.leadTime: a lead time is for a rollout (minutes); beyond a day it opens a daily window before the last one closed. */
export const MAX_LEAD_TIME = '24h';

/** HH:MM on a 24-hour clock, local to schedule.timeZone. */
export const TIME_OF_DAY_PATTERN = '^([01][0-9]|2[0-3]):[0-5][0-9]$';
/** Five cron fields, or six with seconds first; cron-parser checks the fields themselves. */
export const CRON_PATTERN = '^\\S+( \\S+){4,5}$';
export const Weekday = z.enum(['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']);

const timeOfDayRegex = re2Regex(TIME_OF_DAY_PATTERN);
const timeOfDay = (value: string) => timeOfDayRegex.test(value);
const cronRegex = re2Regex(CRON_PATTERN);
const timeOrCron: ValidationRule<string>[] = [
  {
    cel: `self.matches(r'${TIME_OF_DAY_PATTERN}') || self.matches(r'${CRON_PATTERN}')`,
    message: 'must be a time HH:MM or a cron expression of 5 fields (6 with seconds first)',
    check: (v) => timeOfDay(v) || cronRegex.test(v),
  },
];

export const ScheduleWindow = withRules(
  z.strictObject({
    name: withRules(z.string().max(63), [
      matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', 'must be a lower-case name of letters, digits and hyphens, e.g. office-hours'),
    ]).describe('Name of the window, shown in status.schedule and `kubectl get -o wide`.'),
    days: z
      .array(Weekday)
      .min(1)
      .max(7)
      .optional()
      .describe('Days the window opens on (Mon..Sun), with start and end as HH:MM. Omitted with HH:MM times: every day.'),
    start: withRules(z.string().max(100), timeOrCron).describe('When the window opens: HH:MM (on `days`), or a cron expression such as "0 8 * * Mon-Fri", in schedule.timeZone.'),
    end: withRules(z.string().max(100), timeOrCron).describe('When the window closes: the first time after its start that matches, HH:MM (an end before the start is on the next day) or a cron expression.'),
    throughput: Throughput.describe('Throughput while the window is open, in the same form (chunks, tokensPerSecond or modelUnits) as spec.throughput.'),
  }),
  [
    {
      cel: `self.start.matches(r'${TIME_OF_DAY_PATTERN}') == self.end.matches(r'${TIME_OF_DAY_PATTERN}')`,
      message: 'start and end are both HH:MM times or both cron expressions',
      check: (w) => timeOfDay(w.start) === timeOfDay(w.end),
    },
    {
      cel: `!has(self.days) || self.start.matches(r'${TIME_OF_DAY_PATTERN}')`,
      message: 'days go with HH:MM start and end times; a cron expression names its own days',
      check: (w) => w.days === undefined || timeOfDay(w.start),
    },
  ],
).describe('A recurring window with its own throughput.');
export type ScheduleWindow = z.infer<typeof ScheduleWindow>;

/**
 * Zone IDs the time zone library (ICU, in Intl and so in cron-parser) takes though IANA has no such zone: Java's old
 * three-letter IDs, each read as one place of the several it names (BST as Asia/Dhaka, IST as Asia/Kolkata, CST as
 * America/Chicago). The IANA names without a slash (EST, CET, GB, UTC, ...) are not among them.
 */
export const ICU_ONLY_ZONE_ABBREVIATIONS = ['ACT', 'AET', 'AGT', 'ART', 'AST', 'BET', 'BST', 'CAT', 'CNT', 'CST', 'CTT', 'EAT', 'ECT', 'IET', 'IST', 'JST', 'MIT', 'NET', 'NST', 'PLT', 'PNT', 'PRT', 'PST', 'SST', 'VST'] as const;

export const Schedule = withRules(
  z.strictObject({
    timeZone: withRules(z.string().max(64), [
      {
        // Admission only: a zone stored before this rule is read as it was (schedule-windows.ts).
        cel: `!(self.upperAscii() in [${ICU_ONLY_ZONE_ABBREVIATIONS.map((z) => `'${z}'`).join(', ')}])`,
        message:
          'schedule.timeZone must be an IANA time zone name such as Europe/London, Asia/Kolkata or America/Los_Angeles: an abbreviation such as BST, IST, CST or PST is no IANA name, and is read as one place of several (BST as Asia/Dhaka)',
      },
    ])
      .default('UTC')
      .describe('IANA time zone of the windows, e.g. Europe/Berlin. Default UTC. Abbreviations that are no IANA name (BST, IST, CST, PST, ...) are refused; EST, MST and HST are IANA zones of a fixed offset with no daylight saving (for New York write America/New_York).'),
    leadTime: duration(
      'How long before a change that raises throughput (a window opening, or closing back to a larger spec.throughput) the operator sends it, so the larger throughput serves when due (a rollout takes minutes); when several raises fall within one lead time, the highest is sent as its own lead time begins; a change that only lowers throughput is sent when due. At most a day. It must be shorter than the gap between a window\'s close and its next start when the window raises throughput over what serves in that gap (else the window would never close), and shorter than any window below the throughput after it (else that window would never apply): InvalidSpec otherwise.',
      '0s',
    ),
    windows: z
      .array(ScheduleWindow)
      .min(1)
      .max(16)
      .describe('The windows. When several are open at once, the first in this list applies.'),
  }),
  [
    {
      cel: 'self.windows.all(w, self.windows.exists_one(v, v.name == w.name))',
      message: 'window names must be unique',
      check: (s) => new Set(s.windows.map((w) => w.name)).size === s.windows.length,
    },
    {
      // Admission only, as capacityRetryRules: schedule.ts refuses the same at reconcile (MAX_LEAD_MS), so an object
      // stored before this rule still reads and is deleted as before.
      cel: `!(${celDuration('leadTime')}) || duration(self.leadTime) <= duration('${MAX_LEAD_TIME}')`,
      message: `schedule.leadTime must be at most ${MAX_LEAD_TIME}: give it the time a rollout needs, such as 20m`,
      fieldPath: '.leadTime',
    },
  ],
).describe('Throughput by time of day: each window sets the throughput while it is open; outside every window spec.throughput applies.');
export type Schedule = z.infer<typeof Schedule>;

const METRIC_NAME_PATTERN = '^[a-zA-Z_:][a-zA-Z0-9_:]*$';
const metricName = (description: string) =>
  withRules(z.string().max(200), [matches(METRIC_NAME_PATTERN, 'must be a Prometheus metric name, e.g. request_5xx_count_total')]).describe(description);

export const CanaryGate = z
  .strictObject({
    metric: metricName('Metric of the endpoint (GET /serving-endpoints/{name}/metrics) read for the new version, by label served_entity_name: request_count_total, request_4xx_count_total, request_5xx_count_total, request_latency_ms_sum, request_latency_ms_count, cpu_usage_percentage, mem_usage_percentage, ...'),
    divideBy: metricName('Optional: divide by this metric of the new version, e.g. request_count_total for an error ratio.').optional(),
    max: z.number().min(0).describe('The step advances only while the value (or ratio) is at most this; above it the canary aborts.'),
  })
  .describe('A condition on the new version\'s metrics that must hold for a step to advance.');

export const CanaryAction = z.enum(['Hold', 'Promote', 'Abort']);

export const Canary = withRules(
  z.strictObject({
    steps: z
      .array(z.int().min(1).max(99))
      .min(1)
      .max(10)
      .describe('Percent of the traffic the new version gets at each step, e.g. [10, 50]; 100 % follows the last step, then the old version is removed.'),
    pause: duration('How long each step holds once its config serves, before the next step.', '10m'),
    action: CanaryAction.optional().describe(
      'Hold stays at the current step; Promote goes to 100 % now; Abort routes everything back to the old version. Once the canary succeeded none changes anything (to go back, change model.version). Still set when model.version changes: Abort keeps the new canary from starting, Promote goes to the new version alone at once, Hold starts it and holds at the first step. The annotation ptoperator.io/canary (hold, promote, abort) does the same, and wins when both are set (status.canary.message then says this action is not in force).',
    ),
    gate: z.array(CanaryGate).max(5).optional().describe('Metric conditions checked before each step advances; one that fails aborts the canary.'),
  }),
  [
    {
      cel: 'self.steps.all(a, self.steps.exists_one(b, b == a))',
      message: 'canary steps must be different percentages',
      check: (c) => new Set(c.steps).size === c.steps.length,
    },
  ],
).describe('Progressive rollout of a new model.version: both versions serve side by side, traffic moves in steps.');
export type Canary = z.infer<typeof Canary>;

export const DeletionPolicy = z.enum(['Delete', 'Orphan']);
export const ManagementPolicy = z.enum(['Full', 'Observe']);

export const EndpointSpec = withRules(
  z.strictObject({
    workspaceRef: LocalObjectReference.optional().describe(
      "The DatabricksWorkspace in this namespace to use. Omitted: the operator's default workspace. Immutable.",
    ),
    endpointName: withRules(
      z.string().max(63),
      [
        matches(ENDPOINT_NAME_PATTERN, 'must be at most 63 characters, alphanumeric, with hyphens and underscores allowed in between'),
        { cel: 'self == oldSelf', message: 'endpointName is immutable; create a new object to serve under another name', transition: true },
      ],
    )
      .optional()
      .describe('Name of the Databricks serving endpoint. Default: metadata.name. Immutable.'),
    model: ModelRef,
    throughput: Throughput,
    burstScaling: z
      .boolean()
      .default(true)
      .describe('Model-unit throughput only (throughput.modelUnits): let the endpoint burst beyond its provisioned units (burst_scaling_enabled). false with chunks or tokensPerSecond is refused at admission.'),
    tags: withRules(z.record(z.string(), z.string().max(MAX_TAG_VALUE_LENGTH)), [
      {
        cel: `self.all(k, size(k) >= 1 && size(k) <= ${MAX_TAG_KEY_LENGTH})`,
        message: `tag keys must be 1 to ${MAX_TAG_KEY_LENGTH} characters long`,
        // in code points, as CEL's size() counts (k.length counts UTF-16 units: an emoji is two)
        check: (tags) => Object.keys(tags).every((k) => [...k].length >= 1 && [...k].length <= MAX_TAG_KEY_LENGTH),
      },
    ])
      .optional()
      .describe('Tags set on the Databricks endpoint. The operator adds its own ownership tags (prefix pt-operator-).')
      .meta({ maxProperties: 40 }),
    deletionPolicy: DeletionPolicy.default('Delete').describe(
      'What happens to the Databricks endpoint when this object is deleted: Delete removes it, Orphan leaves it running.',
    ),
    managementPolicy: ManagementPolicy.default('Full').describe(
      'Full: the operator creates, updates and deletes the endpoint to match the spec. Observe: it only reads the endpoint (made by Terraform, a notebook, another team) and reports Ready, status and how it differs from the spec (Synced=False Drifted); it never creates, changes, tags or deletes it, whatever deletionPolicy says.',
    ),
    capacityRetry: CapacityRetry.prefault({}),
    ...settingsSpecFields,
    schedule: Schedule.optional(),
    canary: Canary.optional(),
  }),
  [
    {
      cel: 'has(self.endpointName) == has(oldSelf.endpointName)',
      message: 'endpointName is immutable; it cannot be added or removed after creation',
      transition: true,
    },
    {
      cel: 'has(self.workspaceRef) == has(oldSelf.workspaceRef) && (!has(self.workspaceRef) || self.workspaceRef.name == oldSelf.workspaceRef.name)',
      message: 'workspaceRef is immutable; create a new object to move an endpoint to another workspace',
      transition: true,
    },
    {
      cel: "!has(self.tags) || self.tags.all(k, !k.startsWith('pt-operator-'))",
      message: 'tag keys starting with pt-operator- are reserved for the operator',
      check: (s) => Object.keys(s.tags ?? {}).every((k) => !k.startsWith(OWNER_TAG_PREFIX)),
    },
    {
      cel: 'self.burstScaling || has(self.throughput.modelUnits)',
      message: 'burstScaling: false applies only to model-unit throughput (throughput.modelUnits)',
      check: (s) => s.burstScaling || s.throughput.modelUnits !== undefined,
    },
    ...settingsSpecRules,
    {
      cel: "self.managementPolicy != 'Observe' || (!has(self.schedule) && !has(self.canary))",
      message: 'managementPolicy Observe never changes the endpoint: schedule and canary, which steer what is sent, cannot be set with it',
      check: (s) => s.managementPolicy !== 'Observe' || (s.schedule === undefined && s.canary === undefined),
    },
    {
      cel: '!has(self.schedule) || self.schedule.windows.all(w, has(w.throughput.modelUnits) == has(self.throughput.modelUnits))',
      message: 'schedule windows give throughput in the same kind as spec.throughput: modelUnits for model-unit models, chunks or tokensPerSecond otherwise',
      check: (s) => (s.schedule?.windows ?? []).every((w) => (w.throughput.modelUnits !== undefined) === (s.throughput.modelUnits !== undefined)),
    },
  ],
).describe('The desired Databricks provisioned-throughput serving endpoint.');
export type EndpointSpec = z.infer<typeof EndpointSpec>;
