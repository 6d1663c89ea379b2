import { TwilioApiError } from './wire.js';

/** One page of a list, from Twilio's PageSize / Page / PageToken query parameters. */
export interface PageWindow<T> {
  items: T[];
  page: number;
  pageSize: number;
  /** Index of the first item of this page in the whole list. */
  start: number;
  hasNext: boolean;
}

const badParam = (name: string, value: string) => new TwilioApiError(400, 20001, `Invalid value for ${name}: ${value}`);

/**
 * PageToken, when present, wins over Page: it carries the offset ("PT<offset>") so a client that
 * follows next_page_url verbatim lands exactly on the next item.
 */
export function pageOf<T>(all: readonly T[], query: Map<string, string>): PageWindow<T> {
  const rawSize = query.get('PageSize') ?? '50';
  const pageSize = Number(rawSize);
  if (!/^\d+$/.test(rawSize) || pageSize < 1 || pageSize > 1000) throw badParam('PageSize', rawSize);
  const rawPage = query.get('Page') ?? '0';
  const page = Number(rawPage);
  if (!/^\d+$/.test(rawPage)) throw badParam('Page', rawPage);
  const token = query.get('PageToken');
  let start = page * pageSize;
  if (token !== undefined) {
    const m = /^PT(\d+)$/.exec(token);
    if (!m) throw badParam('PageToken', token);
    start = Number(m[1]);
  }
  const items = all.slice(start, start + pageSize);
  return { items, page, pageSize, start, hasNext: start + pageSize < all.length };
}

export function queryString(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  return q.toString();
}

/**
 * The 2010 API's relative paging fields, for a collection at `path` whose items sit under `key`.
 * `filters` (e.g. FriendlyName, Status) go into every paging URI ahead of PageSize, as in the
 * definitions' examples, so a client that follows next_page_uri keeps its filter.
 */
export function page2010<T>(
  path: string,
  key: string,
  all: readonly T[],
  query: Map<string, string>,
  render: (item: T) => unknown,
  filters: Record<string, string | undefined> = {},
) {
  const w = pageOf(all, query);
  const uri = (page: number, token?: number) =>
    `${path}?${queryString({
      ...filters,
      PageSize: w.pageSize,
      Page: page,
      PageToken: token === undefined ? undefined : `PT${token}`,
    })}`;
  return {
    [key]: w.items.map(render),
    first_page_uri: uri(0),
    previous_page_uri: w.page > 0 ? uri(w.page - 1, Math.max(0, w.start - w.pageSize)) : null,
    next_page_uri: w.hasNext ? uri(w.page + 1, w.start + w.pageSize) : null,
    uri: `${path}?${queryString(Object.fromEntries(query))}`,
    page: w.page,
    page_size: w.pageSize,
    start: w.start,
    end: w.start + Math.max(0, w.items.length - 1),
  };
}
