import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

/**
 * zod with `.openapi(name, …)`, which names a schema as a component of an API description
 * (@asteasolutions/zod-to-openapi). zod 4 gives each schema its methods when it is built, so a
 * schema the counter's API description names must be built after this module ran: the modules
 * that define such schemas import `z` from here rather than from 'zod'.
 */
extendZodWithOpenApi(z);

export { z };
