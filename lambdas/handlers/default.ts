import { runtimeFromEnvironment } from '../composition';
import { routeHandlers } from './route-handlers';

export const handler = routeHandlers(runtimeFromEnvironment).unrouted;
